package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"sigs.k8s.io/yaml"
)

// rawExtension mirrors k8s.io/apimachinery/pkg/runtime.RawExtension, the value kubectl's
// resource builder decodes each document into: it keeps the JSON as is, except JSON null.
// Being a json.Unmarshaler, it also makes sigs.k8s.io/yaml convert the YAML without the
// type-directed string conversions it applies to typed targets, as it does for kubectl.
type rawExtension struct {
	Raw []byte
}

// UnmarshalJSON is RawExtension.UnmarshalJSON (apimachinery pkg/runtime/extension.go).
func (re *rawExtension) UnmarshalJSON(in []byte) error {
	if re == nil {
		return errors.New("runtime.RawExtension: UnmarshalJSON on nil pointer")
	}
	if !bytes.Equal(in, []byte("null")) {
		re.Raw = append(re.Raw[0:0], in...)
	}
	return nil
}

// checkManifestDocuments reads a (macro-rendered) manifest the way `kubectl apply -f` does:
//
//  1. k8s.io/cli-runtime's StreamVisitor decodes with apimachinery's YAMLOrJSONDecoder, whose
//     YAML path is YAMLToJSONDecoder: YAMLReader.Read cuts the next document (yamlreader.go)
//     and sigs.k8s.io/yaml.Unmarshal converts it into a RawExtension;
//  2. StreamVisitor trims the JSON and skips it when empty or "null" (an empty document, or
//     one of comments only);
//  3. the unstructured JSON scheme decodes the rest into a map (so it must be a JSON object)
//     and refuses it without a string "kind" (runtime.NewMissingKindErr). It does not yet
//     require apiVersion (a TODO there), but the REST mapping that follows cannot place an
//     object without one, so an apiVersion string is required too (NewMissingVersionErr).
//
// Not followed: YAMLOrJSONDecoder first tries a stream that starts with "{" as JSON; a JSON
// document is YAML as well, so the verdict only differs for JSON streams of several objects
// not separated by "---". The items of a List are not checked one by one.
func checkManifestDocuments(rendered []byte) (reader string, err error) {
	docs, err := splitDocuments(rendered)
	if err != nil {
		return "k8s.io/apimachinery/pkg/util/yaml.YAMLReader", err
	}
	for i, doc := range docs {
		where := fmt.Sprintf("document %d (line %d)", i+1, doc.line)
		var ext rawExtension
		if err := yaml.Unmarshal(doc.data, &ext); err != nil {
			return "sigs.k8s.io/yaml", fmt.Errorf("%s: %w", where, k8sYAMLSyntaxError{err})
		}
		raw := bytes.TrimSpace(ext.Raw)
		if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
			continue
		}
		var object map[string]interface{}
		if err := json.Unmarshal(raw, &object); err != nil {
			return "unstructured", fmt.Errorf("%s: %w", where, err)
		}
		if kind, _ := object["kind"].(string); kind == "" {
			return "unstructured", fmt.Errorf("%s: Object 'Kind' is missing in '%s'", where, shorten(raw))
		}
		if version, _ := object["apiVersion"].(string); version == "" {
			return "unstructured", fmt.Errorf("%s: Object 'apiVersion' is missing in '%s'", where, shorten(raw))
		}
	}
	return "unstructured", nil
}

// shorten cuts a document's JSON quoted in a message (apimachinery quotes it whole).
func shorten(raw []byte) string {
	const most = 200
	if len(raw) <= most {
		return string(raw)
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(raw[cut]) {
		cut--
	}
	return string(raw[:cut]) + "…"
}
