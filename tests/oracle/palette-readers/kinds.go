package main

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"

	sprig "github.com/Masterminds/sprig/v3"
	yaml3 "gopkg.in/yaml.v3"
	"sigs.k8s.io/yaml"
)

// Reader names, as they appear in answers.
const (
	readerSigs     = "sigs.k8s.io/yaml"
	readerTemplate = "text/template"
	readerLoader   = "helm/chart/loader"
	readerValidate = "helm/chart.Metadata.Validate"
)

// parseTemplate is text/template's Parse without the check that each function is defined:
// Palette's function map is not published and its packs call functions outside Sprig's (for
// example {{workflow.name}}), so an unknown function must not count. Template.Parse runs
// parse.Parse(name, text, "", "", funcs, builtins()) with a fresh tree set; here the same
// parser runs in SkipFuncCheck mode (Go 1.17+), where the function maps matter for nothing
// but "break"/"continue" being keywords, which neither builtins nor Sprig define.
func parseTemplate(name, text string) error {
	if line, deep := parenDepthExceeded(text); deep {
		return fmt.Errorf("template: %s:%d: max expression depth exceeded", name, line)
	}
	t := parse.New(name)
	t.Mode = parse.SkipFuncCheck
	_, err := t.Parse(text, "", "", map[string]*parse.Tree{})
	return err
}

// templateNotes adds what the stricter parse says: text/template with Sprig's TxtFuncMap
// (and the builtins text/template adds), where an unknown function is an error.
func templateNotes(name, text string, notes *[]string) {
	if _, deep := parenDepthExceeded(text); deep {
		return
	}
	if _, err := template.New(name).Funcs(sprig.TxtFuncMap()).Parse(text); err != nil {
		*notes = append(*notes, "text/template with Sprig's functions only: "+err.Error())
	}
}

// maxStackDepth is the nesting limit of parenthesized pipelines that Go's text/template/parse
// gained after Go 1.19 (term(): "max expression depth exceeded" on the 10001st open paren).
// Debian's Go 1.19 has none and recurses until the goroutine stack overflows, a fatal error
// no recover catches (about a million parens). Palette is built with a newer Go, so the oracle
// applies the limit before parsing, which also keeps it from crashing.
const maxStackDepth = 10000

// parenDepthExceeded scans the actions of text the way the template lexer does (quoted
// strings, raw strings, character constants and comments hold no parens) and reports the line
// of the first paren nested deeper than maxStackDepth. It is a guard for pathological input:
// when the parser would have stopped at an earlier error, only the error text differs.
func parenDepthExceeded(text string) (int, bool) {
	line, depth, inAction := 1, 0, false
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '\n' {
			line++
		}
		if !inAction {
			if strings.HasPrefix(text[i:], "{{") {
				inAction, depth = true, 0
				// A comment may only follow the delimiter (and a trim marker) directly.
				start := i + 2
				if strings.HasPrefix(text[start:], "- ") {
					start += 2
				}
				i = start - 1
				if strings.HasPrefix(text[start:], "/*") {
					end := strings.Index(text[start:], "*/")
					if end < 0 {
						return 0, false
					}
					line += strings.Count(text[start:start+end], "\n")
					i = start + end + 1 // on the comment's closing '/'
				}
			}
			continue
		}
		switch c {
		case '"', '`', '\'':
			j := i + 1
			for j < len(text) && text[j] != c && !(c != '`' && text[j] == '\n') {
				if text[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			if j >= len(text) {
				return 0, false
			}
			if text[j] == '\n' {
				// Unterminated: the lexer stops here with an error of its own.
				i = j - 1
				continue
			}
			line += strings.Count(text[i:j], "\n")
			i = j
		case '(':
			depth++
			if depth > maxStackDepth {
				return line, true
			}
		case ')':
			depth--
		case '}':
			if strings.HasPrefix(text[i:], "}}") {
				inAction = false
				i++
			}
		}
	}
	return 0, false
}

// checkValues reads a pack's values.yaml the way Helm reads values (chartutil.ReadValues:
// sigs.k8s.io/yaml.Unmarshal into a map; an empty file is an empty map, not an error) after
// Palette's macros are rendered away (renderMacros).
func checkValues(data []byte, notes *[]string) (string, error) {
	text := string(data)
	if err := parseTemplate("values", text); err != nil {
		*notes = append(*notes, "text/template: "+err.Error())
	} else {
		templateNotes("values", text, notes)
	}
	rendered, openLine, openWords := renderMacros(text)
	if openLine > 0 {
		*notes = append(*notes, fmt.Sprintf("renderMacros: the block {{%s}} opened on line %d is never closed", openWords, openLine))
	}
	var values map[string]interface{}
	err := yaml.Unmarshal([]byte(rendered), &values)

	// What the other readers would say, for the record.
	var v3 map[string]interface{}
	if err3 := yaml3.Unmarshal([]byte(rendered), &v3); err3 != nil {
		*notes = append(*notes, "gopkg.in/yaml.v3 refuses: "+err3.Error())
	} else if err != nil {
		*notes = append(*notes, "gopkg.in/yaml.v3 accepts")
	}
	if bytes.Contains(data, []byte("{{")) {
		var raw map[string]interface{}
		if errRaw := yaml.Unmarshal(data, &raw); (errRaw == nil) != (err == nil) {
			if errRaw == nil {
				*notes = append(*notes, "without renderMacros sigs.k8s.io/yaml accepts the file: the refusal comes from the macro pre-processing")
			} else {
				*notes = append(*notes, "without renderMacros sigs.k8s.io/yaml refuses the file: "+errRaw.Error())
			}
		}
	}
	if docs, errDocs := splitDocuments([]byte(rendered)); errDocs != nil {
		*notes = append(*notes, "Helm v4's LoadValues would refuse: error reading yaml document: "+errDocs.Error())
	} else if len(docs) > 1 {
		*notes = append(*notes, fmt.Sprintf("%d YAML documents: Helm v3 (sigs.k8s.io/yaml) reads the first only; Helm v4 merges them", len(docs)))
	}
	return readerSigs, err
}

// checkManifest reads a kubeManifests file: first the template verdict (text/template's parser,
// unknown functions allowed), then, with the macros rendered away, each YAML document the way
// kubectl reads it (manifest.go).
func checkManifest(data []byte, notes *[]string) (string, error) {
	text := string(data)
	if err := parseTemplate("manifest", text); err != nil {
		return readerTemplate, err
	}
	templateNotes("manifest", text, notes)
	rendered, openLine, openWords := renderMacros(text)
	if openLine > 0 {
		*notes = append(*notes, fmt.Sprintf("renderMacros: the block {{%s}} opened on line %d is never closed", openWords, openLine))
	}
	return checkManifestDocuments([]byte(rendered))
}

// checkTemplate is the template verdict alone, for fuzzing text/template's parser.
func checkTemplate(data []byte, notes *[]string) (string, error) {
	text := string(data)
	if err := parseTemplate("template", text); err != nil {
		return readerTemplate, err
	}
	templateNotes("template", text, notes)
	return readerTemplate, nil
}

// checkYAML is sigs.k8s.io/yaml.YAMLToJSON of the raw bytes, for fuzzing the YAML reader.
func checkYAML(data []byte, notes *[]string) (string, error) {
	_, err := yaml.YAMLToJSON(data)
	return readerSigs, err
}

// checkYAMLMap is Helm's values semantics on the raw bytes: Unmarshal into a map.
func checkYAMLMap(data []byte, notes *[]string) (string, error) {
	var values map[string]interface{}
	return readerSigs, yaml.Unmarshal(data, &values)
}

// checkChart loads a chart archive with the port of Helm's loader.LoadArchive (helm_loader.go).
func checkChart(data []byte, notes *[]string) (string, error) {
	if err := ensureArchive("chart.tgz", data); err != nil {
		*notes = append(*notes, "helm's LoadFile would first refuse: "+err.Error())
	}
	chart, err := LoadArchive(bytes.NewReader(data))
	if err == nil {
		*notes = append(*notes, fmt.Sprintf("chart %s %s, %d subcharts", chart.Name(), chart.Metadata.Version, len(chart.Dependencies())))
	}
	return readerLoader, err
}

// checkChartYAML runs Chart.yaml bytes through what LoadFiles does with them: the Metadata
// unmarshal, the apiVersion default for Helm 2 charts, and Metadata.Validate.
func checkChartYAML(data []byte, notes *[]string) (string, error) {
	metadata := new(Metadata)
	if err := yaml.Unmarshal(data, metadata); err != nil {
		return readerSigs, fmt.Errorf("cannot load Chart.yaml: %w", err)
	}
	if metadata.APIVersion == "" {
		metadata.APIVersion = APIVersionV1
	}
	return readerValidate, metadata.Validate()
}
