// Command palette-readers is an oracle for packpub's differential tests: for a file of a pack
// it says whether the Go readers Palette runs accept or refuse it, by running those readers
// (gopkg.in/yaml.v2 through sigs.k8s.io/yaml, gopkg.in/yaml.v3, text/template, Sprig) or, for
// code not packaged in Debian (Helm's chart loader, apimachinery's YAML document reader), a
// line-by-line port of it. See README.md for what each kind does.
//
// Protocol (stdin → stdout, one JSON object a line, flushed after each answer):
//
//	request:  {"kind": "values", "data": "<base64 of the file>"}
//	answer:   {"ok": false, "reader": "sigs.k8s.io/yaml", "error": "...", "notes": ["..."]}
//
// Blank input lines are skipped. A request that cannot be read gets reader "request"; a panic
// in any reader is caught and answered with reader "panic".
//
// For people: `palette-readers KIND FILE` prints the same answer and exits 0 when the file is
// accepted, 1 when it is refused (2 on a usage error); `palette-readers corpus DIR` runs every
// pack folder under DIR (see corpus.go).
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
)

type request struct {
	Kind string `json:"kind"`
	Data string `json:"data"`
}

type answer struct {
	OK     bool     `json:"ok"`
	Reader string   `json:"reader"`
	Error  string   `json:"error,omitempty"`
	Notes  []string `json:"notes,omitempty"`
}

// kinds maps each kind to its check; each returns the reader that decided and its error.
var kinds = map[string]func(data []byte, notes *[]string) (string, error){
	"values":     checkValues,
	"manifest":   checkManifest,
	"template":   checkTemplate,
	"yaml":       checkYAML,
	"yaml-map":   checkYAMLMap,
	"chart":      checkChart,
	"chart-yaml": checkChartYAML,
}

func kindNames() string {
	names := make([]string, 0, len(kinds))
	for name := range kinds {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// judge runs one check and never panics: a panic in a reader becomes a refusal.
func judge(kind string, data []byte) (a answer) {
	check, known := kinds[kind]
	if !known {
		return answer{Reader: "request", Error: fmt.Sprintf("unknown kind %q (known: %s)", kind, kindNames())}
	}
	helmWarnings = nil
	var notes []string
	defer func() {
		if r := recover(); r != nil {
			a = answer{Reader: "panic", Error: fmt.Sprintf("%v", r), Notes: append(notes, string(debug.Stack()))}
		}
	}()
	reader, err := check(data, &notes)
	notes = append(notes, helmWarnings...)
	a = answer{OK: err == nil, Reader: reader, Notes: notes}
	if err != nil {
		a.Error = err.Error()
	}
	return a
}

// serve answers requests from in until it ends.
func serve(in io.Reader, out io.Writer) error {
	reader := bufio.NewReader(in)
	writer := bufio.NewWriter(out)
	encoder := json.NewEncoder(writer)
	encoder.SetEscapeHTML(false)
	for {
		// ReadBytes, not a Scanner: a chart in base64 is longer than any token limit.
		line, readErr := reader.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			if err := encoder.Encode(answerLine(line)); err != nil {
				return err
			}
			if err := writer.Flush(); err != nil {
				return err
			}
		}
		if readErr == io.EOF {
			return nil
		}
		if readErr != nil {
			return readErr
		}
	}
}

func answerLine(line []byte) answer {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return answer{Reader: "request", Error: "the request is not a JSON object {kind, data}: " + err.Error()}
	}
	data, err := base64.StdEncoding.DecodeString(req.Data)
	if err != nil {
		return answer{Reader: "request", Error: "data is not standard base64: " + err.Error()}
	}
	return judge(req.Kind, data)
}

func usage() {
	fmt.Fprintf(os.Stderr, `usage:
  palette-readers                 answer JSON-line requests on stdin (see README.md)
  palette-readers KIND FILE       judge one file; exit 0 accepted, 1 refused
  palette-readers corpus DIR      judge every pack folder under DIR
kinds: %s
`, kindNames())
	os.Exit(2)
}

func main() {
	args := os.Args[1:]
	switch {
	case len(args) == 0:
		if err := serve(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "palette-readers:", err)
			os.Exit(1)
		}
	case len(args) == 2 && args[0] == "corpus":
		os.Exit(runCorpus(args[1], os.Stdout))
	case len(args) == 2:
		if _, known := kinds[args[0]]; !known {
			usage()
		}
		data, err := os.ReadFile(args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "palette-readers:", err)
			os.Exit(2)
		}
		a := judge(args[0], data)
		encoder := json.NewEncoder(os.Stdout)
		encoder.SetEscapeHTML(false)
		encoder.SetIndent("", "  ")
		_ = encoder.Encode(a)
		if !a.OK {
			os.Exit(1)
		}
	default:
		usage()
	}
}
