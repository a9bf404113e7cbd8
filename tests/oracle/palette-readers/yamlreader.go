/*
Copyright 2014 The Kubernetes Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Port of the document splitter kubectl reads manifests with: YAMLReader, LineReader and
// YAMLSyntaxError from k8s.io/apimachinery/pkg/util/yaml/decoder.go. apimachinery is not
// packaged in Debian. Read from kubernetes/kubernetes
// staging/src/k8s.io/apimachinery/pkg/util/yaml/decoder.go (the version with StreamReader and
// `//nolint:errorlint`, apimachinery v0.32+; the same YAMLReader.Read since the
// "invalid Yaml document separator" check of Kubernetes 1.19/1.20, up to the newest stored
// versions). kubectl's YAMLOrJSONDecoder → YAMLToJSONDecoder.Decode calls YAMLReader.Read for
// each document and then sigs.k8s.io/yaml.Unmarshal on it (see manifest.go).
//
// Changes from apimachinery: names get a k8s prefix in package main, and LineReader counts the
// lines it hands out (lines, an addition) so that the oracle can say where a document starts.

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

const separator = "---"

type k8sYAMLSyntaxError struct {
	err error
}

func (e k8sYAMLSyntaxError) Error() string {
	return e.err.Error()
}

type k8sYAMLReader struct {
	reader *k8sLineReader
}

func newK8sYAMLReader(r *bufio.Reader) *k8sYAMLReader {
	return &k8sYAMLReader{
		reader: &k8sLineReader{reader: r},
	}
}

// Read returns a full YAML document.
func (r *k8sYAMLReader) Read() ([]byte, error) {
	var buffer bytes.Buffer
	for {
		line, err := r.reader.Read()
		if err != nil && err != io.EOF { //nolint:errorlint
			return nil, err
		}

		sep := len([]byte(separator))
		if i := bytes.Index(line, []byte(separator)); i == 0 {
			// We have a potential document terminator
			i += sep
			trimmed := strings.TrimSpace(string(line[i:]))
			// We only allow comments and spaces following the yaml doc separator, otherwise we'll return an error
			if len(trimmed) > 0 && string(trimmed[0]) != "#" {
				return nil, k8sYAMLSyntaxError{
					err: fmt.Errorf("invalid Yaml document separator: %s", trimmed),
				}
			}
			if buffer.Len() != 0 {
				return buffer.Bytes(), nil
			}
			if err == io.EOF { //nolint:errorlint
				return nil, err
			}
		}
		if err == io.EOF { //nolint:errorlint
			if buffer.Len() != 0 {
				// If we're at EOF, we have a final, non-terminated line. Return it.
				return buffer.Bytes(), nil
			}
			return nil, err
		}
		buffer.Write(line)
	}
}

type k8sLineReader struct {
	reader *bufio.Reader
	// lines counts the lines read so far (oracle addition, for messages).
	lines int
}

// Read returns a single line (with '\n' ended) from the underlying reader.
// An error is returned iff there is an error with the underlying reader.
func (r *k8sLineReader) Read() ([]byte, error) {
	var (
		isPrefix bool  = true
		err      error = nil
		line     []byte
		buffer   bytes.Buffer
	)

	for isPrefix && err == nil {
		line, isPrefix, err = r.reader.ReadLine()
		buffer.Write(line)
	}
	buffer.WriteByte('\n')
	if err == nil {
		r.lines++
	}
	return buffer.Bytes(), err
}

// splitDocuments runs YAMLReader.Read to the end, the way kubectl's decoder does, and returns
// each document with the line it starts on (1-based).
func splitDocuments(text []byte) ([]document, error) {
	lines := bytes.Split(text, []byte("\n"))
	r := newK8sYAMLReader(bufio.NewReader(bytes.NewReader(text)))
	var docs []document
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return docs, err
		}
		// The last line read is either the document's last line or the "---" that ended it
		// (content lines never start with "---": Read refuses those).
		end := r.reader.lines
		start := end - bytes.Count(doc, []byte("\n")) + 1
		if end >= 1 && end <= len(lines) && bytes.HasPrefix(lines[end-1], []byte(separator)) {
			start--
		}
		docs = append(docs, document{data: doc, line: start})
	}
}

// document is one YAML document of a stream and the line it starts on.
type document struct {
	data []byte
	line int
}
