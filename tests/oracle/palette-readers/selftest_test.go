package main

// The oracle's self-test (run by ../selftest.sh, in GOPATH mode): the oracle must answer as
// the libraries it wraps say, on their own test cases where they have some (go-yaml v2's
// unmarshalErrorTests, sigs.k8s.io/yaml's TestYAMLToJSON, text/template/parse's errorTests, as
// installed under /usr/share/gocode and $GOROOT), and the Helm port must give the verdicts
// and error texts Helm's own tests expect (pkg/chart/loader/load_test.go TestLoadInvalidArchive,
// TestLoadFiles, TestLoadFilesOrder, archive_test.go TestLoadArchiveFiles,
// pkg/chart/metadata_test.go TestValidate), on archives built here like Helm's testdata.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cases counts the verdicts checked, for the summary line.
var cases int

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		fmt.Printf("oracle selftest: %d cases, all as Helm/go-yaml say\n", cases)
	}
	os.Exit(code)
}

// expect judges data as kind and checks the verdict, the reader, and the error: want is ""
// for no check, else a substring of the error, or a regexp when it starts with "^".
func expect(t *testing.T, kind, data string, ok bool, reader, want string) answer {
	t.Helper()
	cases++
	a := judge(kind, []byte(data))
	if a.OK != ok {
		t.Errorf("%s %q: ok=%v, want %v (reader %s, error %q)", kind, data, a.OK, ok, a.Reader, a.Error)
		return a
	}
	if reader != "" && a.Reader != reader {
		t.Errorf("%s %q: reader %q, want %q (%s)", kind, data, a.Reader, reader, a.Error)
	}
	switch {
	case want == "":
	case strings.HasPrefix(want, "^"):
		if !regexp.MustCompile(want).MatchString(a.Error) {
			t.Errorf("%s %q: error %q does not match %s", kind, data, a.Error, want)
		}
	case !strings.Contains(a.Error, want):
		t.Errorf("%s %q: error %q does not contain %q", kind, data, a.Error, want)
	}
	return a
}

func hasNote(a answer, prefix string) bool {
	for _, n := range a.Notes {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// ---- go-yaml v2 and sigs.k8s.io/yaml ----

// TestGoYAMLErrors runs gopkg.in/yaml.v2's own unmarshalErrorTests (decode_test.go, 2.4.0)
// through the yaml kind: sigs.k8s.io/yaml.YAMLToJSON returns yaml.v2's error unchanged.
func TestGoYAMLErrors(t *testing.T) {
	for _, c := range []struct{ data, err string }{
		{"v: !!float 'error'", "yaml: cannot decode !!str `error` as a !!float"},
		{"v: [A,", "yaml: line 1: did not find expected node content"},
		{"v:\n- [A,", "yaml: line 2: did not find expected node content"},
		{"a:\n- b: *,", "yaml: line 2: did not find expected alphabetic or numeric character"},
		{"a: *b\n", "yaml: unknown anchor 'b' referenced"},
		{"a: &a\n  b: *a\n", "yaml: anchor 'a' value contains itself"},
		{"a: &x null\n<<:\n- *x\nb: &x {}\n", `yaml: map merge requires map or sequence of maps as the value`},
		{"value: -", "yaml: block sequence entries are not allowed in this context"},
		{"a: !!binary ==", "yaml: !!binary value contains invalid base64 data"},
		{"{[.]}", `yaml: invalid map key: \[\]interface \{\}\{"\."\}`},
		{"{{.}}", `yaml: invalid map key: map\[interface\ \{\}\]interface \{\}\{".":interface \{\}\(nil\)\}`},
		{"b: *a\na: &a {c: 1}", `yaml: unknown anchor 'a' referenced`},
		{"%TAG !%79! tag:yaml.org,2002:\n---\nv: !%79!int '1'", "yaml: did not find expected whitespace"},
		{"a:\n  1:\nb\n  2:", ".*could not find expected ':'"},
		{"a: &a [00,00,00,00,00,00,00,00,00]\n" +
			"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n" +
			"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
			"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n" +
			"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n" +
			"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n" +
			"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n" +
			"h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n" +
			"i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n",
			"yaml: document contains excessive aliasing"},
	} {
		// gocheck's ErrorMatches anchors the pattern at both ends.
		expect(t, "yaml", c.data, false, readerSigs, "^(?s:"+c.err+")$")
	}
}

// TestSigsYAMLToJSON runs the accepted inputs of sigs.k8s.io/yaml's TestYAMLToJSON and its
// duplicate-key case (YAMLToJSON keeps the last key; only the Strict form refuses).
func TestSigsYAMLToJSON(t *testing.T) {
	for _, in := range []string{
		"t: a\n", "t: \n", "t: null\n", "1: a\n", "1000000000000000000000000000000000000: a\n",
		"1e+36: a\n", "\"1e+36\": a\n", "\"1.2\": a\n", "- t: a\n",
		"- t: a\n- t:\n    b: 1\n    c: 2\n", `[{t: a}, {t: {b: 1, c: 2}}]`, "- t: \n", "- t: null\n",
		"\nfoo: bar\nfoo: baz\n",
	} {
		expect(t, "yaml", in, true, readerSigs, "")
	}
	// A list is YAML but not a map of values (Helm's ReadValues semantics).
	expect(t, "yaml-map", "- t: a\n", false, readerSigs,
		"error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}")
	expect(t, "yaml-map", "\nfoo: bar\nfoo: baz\n", true, readerSigs, "")
	// A null key has no JSON form (sigs.k8s.io/yaml's "cases that should produce errors").
	expect(t, "yaml", "~: a", false, readerSigs, "")
}

// TestValues: Helm's chartutil.ReadValues after renderMacros, with yaml.v3's view in a note.
func TestValues(t *testing.T) {
	// ReadValues: an empty file (or comments only) is an empty map, not an error.
	expect(t, "values", "", true, readerSigs, "")
	expect(t, "values", "# nothing but a comment\n", true, readerSigs, "")
	// A scalar or a list at the top is no map of values.
	expect(t, "values", "just a string\n", false, readerSigs,
		"error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go value of type map[string]interface {}")
	// A tab cannot start a token (yaml.v2's scanner).
	expect(t, "values", "a:\n\tb: 1\n", false, readerSigs, "found character that cannot start any token")
	// Duplicate keys: yaml.v2 (and so sigs, and Helm v3) keeps the last; yaml.v3 refuses.
	a := expect(t, "values", "a: 1\na: 2\n", true, readerSigs, "")
	if !hasNote(a, `gopkg.in/yaml.v3 refuses: yaml: unmarshal errors:`) {
		t.Errorf("duplicate keys: no yaml.v3 note in %q", a.Notes)
	}
	// Macros: inline actions become x, lines of actions only become empty.
	expect(t, "values", "name: {{ .spectro.system.cluster.name }}\nurl: https://{{ .spectro.system.cluster.uid }}.example.com/x\n", true, readerSigs, "")
	expect(t, "values", "a:\n{{- if .Values.enabled }}\n  b: 1\n{{- end }}\n", true, readerSigs, "")
	// Else branches and defines are left out: they may be YAML of another shape.
	expect(t, "values", "items:\n{{- if .Values.list }}\n  - a\n{{- else }}\n  a: 1\n{{- end }}\n", true, readerSigs, "")
	expect(t, "values", "{{- define \"x\" }}\n- not: [yaml\n{{- end }}\nk: v\n", true, readerSigs, "")
	// Multi-line actions keep the line numbers: the mistake is reported on its own line (4).
	expect(t, "values", "a: {{ .x\n  | quote }}\nb: 1\nc: [1, 2\n", false, readerSigs, "yaml: line 4: did not find expected ',' or ']'")
	// A values file that is not a valid template is still read (Palette serves such packs:
	// their values hold templates for the chart's tpl); the parse error is a note.
	a = expect(t, "values", "labels: '{{ $labels.x }}'\n", true, readerSigs, "")
	if !hasNote(a, `text/template: template: values:1: undefined variable "$labels"`) {
		t.Errorf("no text/template note in %q", a.Notes)
	}
	// A file that sigs refuses only because of the macro pre-processing says so: a "{{" in a
	// string opens an action that nothing closes, which empties the rest of the file.
	a = expect(t, "values", "a: \"{{\"\nb: 1\n", false, readerSigs, "found unexpected end of stream")
	if !hasNote(a, "without renderMacros sigs.k8s.io/yaml accepts the file") {
		t.Errorf("no renderMacros note in %q", a.Notes)
	}
}

// TestRenderMacros pins the pre-processing rules packpub mirrors (src/pack/validate.rs).
func TestRenderMacros(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"a: {{ .x }}\n", "a: x\n"},
		{"  {{- if .x }}  \nb: 1\n{{ end }}", "\nb: 1\n"},
		{"a: {{ .x\n  y\n  z }} w\nb: 2\n", "a: x\n\nx w\nb: 2\n"},
		{"{{/* a\n comment */}}\na: 1\n", "\n\na: 1\n"},
		{"x:\n{{ if .a }}\n  b: 1\n{{ else if .c }}\n  b: 2\n{{ else }}\n  - c\n{{ end }}\nd: 1\n", "x:\n\n  b: 1\n\n\n\n\n\nd: 1\n"},
		{"{{ define \"t\" }}\nbad: [\n{{ end }}\nk: v", "\n\n\nk: v"},
		{"no actions\r\n", "no actions\r\n"},
	} {
		cases++
		got, _, _ := renderMacros(c.in)
		if got != c.out {
			t.Errorf("renderMacros(%q) = %q, want %q", c.in, got, c.out)
		}
	}
	cases++
	if _, line, words := renderMacros("a:\n  {{- if .Values.x }}\n  b: c\n  {- end}\n"); line != 2 || words != "if .Values.x" {
		t.Errorf("unclosed block: line %d words %q", line, words)
	}
}

// ---- text/template ----

// TestTemplate runs text/template/parse's own errorTests (Go 1.19 parse_test.go) through the
// template kind; the test names become the template's name "template" in the texts.
func TestTemplate(t *testing.T) {
	for _, c := range []struct{ in, err string }{
		{"line1\n{{", `template:2: unclosed action`},
		{"line1\n{{define `x`}}line2\n{{", `template:3: unclosed action`},
		{"line1\n{{\"x\"\n\"y\"\n", `template:4: unclosed action started at template:2`},
		{"{{\n\n\n\n\n", `template:6: unclosed action started at template:1`},
		{"{{/*}}", `template:1: unclosed comment`},
		{"{{/*\nhello\n}}", `template:1: unclosed comment`},
		{"{{.X (1 2 3}}", `unclosed left paren`},
		{"{{.X 1 2 3 ) }}", `unexpected ")" in command`},
		{"{{(.X 1 2 3", `unclosed action`},
		{"{{`x`3}}", `in operand`},
		{"{{a#}}", `'#'`},
		{"{{'a}}", `unterminated character constant`},
		{`{{"a}}`, `unterminated quoted string`},
		{"{{`a}}", `unterminated raw quoted string`},
		{"{{0xi}}", `number syntax`},
		{"{{define `a`}}a{{end}}{{define `a`}}b{{end}}", `multiple definition of template`},
		{"{{range .X}}", `unexpected EOF`},
		{"{{$x := 23}}{{with $x.y := 3}}{{$x 23}}{{end}}", `unexpected ":="`},
		{"{{$a,$b,$c := 23}}", `too many declarations`},
		{"{{$a}}", `undefined variable`},
		{"{{true.any}}", `unexpected . after term`},
		{"{{12|false}}", `non executable command in pipeline`},
		{`{{ ( ) }}`, `missing value for parenthesized pipeline`},
		{"{{ $v := `\n` }} {{", `template:2: unclosed action`},
		{"{{range $k}}{{end}}", `undefined variable`},
		{"{{range $k,}}{{end}}", `missing value for range`},
		{"{{range $k, .}}{{end}}", `range can only initialize variables`},
		{"{{break}}", `{{break}} outside {{range}}`},
	} {
		expect(t, "template", c.in, false, readerTemplate, c.err)
	}
	// Paren nesting: newer Go refuses the 10001st level; Go 1.19 would recurse until a fatal
	// stack overflow (a million levels), which the oracle must not die of.
	nest := func(n int) string { return strings.Repeat("(", n) + "1" + strings.Repeat(")", n) }
	expect(t, "template", "x\n{{ "+nest(10000)+" }}", true, readerTemplate, "")
	expect(t, "template", "x\n{{ "+nest(10001)+" }}", false, readerTemplate, "template: template:2: max expression depth exceeded")
	expect(t, "template", "{{ \"(((\" }}{{/* ((( */}}{{ `(\n(` }}\n{{ "+nest(3)+" }}", true, readerTemplate, "")
	expect(t, "manifest", "{{ "+nest(1000000)+" }}", false, readerTemplate, "max expression depth exceeded")
	// An undefined function is no error in SkipFuncCheck mode (Palette calls functions outside
	// Sprig's); the stricter parse with Sprig's map says so in a note.
	for _, in := range []string{"line1\n{{\nx\n}}", "{{foo}}", "name: {{workflow.name}}", "{{ .Values.x | upper | quote }}", "{{ range .x }}{{ break }}{{ end }}"} {
		a := expect(t, "template", in, true, readerTemplate, "")
		if strings.Contains(in, "foo") && !hasNote(a, `text/template with Sprig's functions only: template: template:1: function "foo" not defined`) {
			t.Errorf("no function note for %q: %q", in, a.Notes)
		}
	}
}

// ---- manifests: text/template, then kubectl's reading ----

func TestManifest(t *testing.T) {
	const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
	expect(t, "manifest", cm, true, "unstructured", "")
	// Empty documents, comment-only documents and null documents are skipped, as kubectl does.
	expect(t, "manifest", "---\n"+cm+"---\n# only a comment\n---\n---\nnull\n---\n"+cm, true, "unstructured", "")
	expect(t, "manifest", "", true, "unstructured", "")
	// CRLF line ends: bufio.Reader.ReadLine drops the \r.
	expect(t, "manifest", strings.ReplaceAll(cm+"---\n"+cm, "\n", "\r\n"), true, "unstructured", "")
	// A comment may follow the separator; anything else may not (apimachinery since k8s 1.20).
	expect(t, "manifest", cm+"--- # next\n"+cm, true, "unstructured", "")
	expect(t, "manifest", cm+"--- apiVersion: v1\n", false, "k8s.io/apimachinery/pkg/util/yaml.YAMLReader",
		"invalid Yaml document separator: apiVersion: v1")
	// A scalar or a list is no object; a missing kind or apiVersion is refused; the document
	// and its first line are named.
	expect(t, "manifest", cm+"---\njust text\n", false, "unstructured",
		"document 2 (line 6): json: cannot unmarshal string into Go value of type map[string]interface {}")
	expect(t, "manifest", cm+"---\n- a\n", false, "unstructured", "document 2 (line 6): json: cannot unmarshal array")
	expect(t, "manifest", "---\n\n---\nmetadata:\n  name: a\napiVersion: v1\n", false, "unstructured",
		`document 2 (line 4): Object 'Kind' is missing in '{"apiVersion":"v1","metadata":{"name":"a"}}'`)
	expect(t, "manifest", "kind: 5\napiVersion: v1\n", false, "unstructured", "Object 'Kind' is missing")
	expect(t, "manifest", "kind: Pod\n", false, "unstructured", `document 1 (line 1): Object 'apiVersion' is missing in '{"kind":"Pod"}'`)
	// Broken YAML in a document.
	expect(t, "manifest", cm+"---\napiVersion: v1\nkind: [Pod\n", false, readerSigs,
		"document 2 (line 6): error converting YAML to JSON: yaml: line 2: did not find expected ',' or ']'")
	// The template verdict comes first; unknown functions are allowed.
	expect(t, "manifest", cm+"  labels: {{ .x }\n", false, readerTemplate, `template: manifest:5: unexpected "}" in operand`)
	expect(t, "manifest", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{workflow.name}}\n  namespace: {{ .spectro.system.cluster.name | lower }}\n", true, "unstructured", "")
	// Macros rendered away: else branches of another shape are left out.
	expect(t, "manifest", "{{ if .x }}\n"+cm+"{{ else }}\n- not an object\n{{ end }}\n", true, "unstructured", "")
}

// ---- Helm's chart loader ----

type entry struct {
	name string
	body string
	flag byte
}

// tgz builds a gzipped tar the way Helm's tests do (writeTar in load_test.go).
func tgz(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zipper := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zipper)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0755, Size: int64(len(e.body)), ModTime: time.Now(), Typeflag: e.flag}
		switch e.flag {
		case 0:
			h.Typeflag = tar.TypeReg
		case tar.TypeXGlobalHeader:
			// As archive_test.go writes it (archive/tar takes nothing else for this type).
			h = &tar.Header{Typeflag: e.flag, Name: e.name}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zipper.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// chartFiles turns a file map into tar entries under dir, with sep as the path delimiter.
func chartFiles(dir, sep string, files map[string]string) []entry {
	var out []entry
	for _, name := range sortedKeys(files) {
		out = append(out, entry{name: dir + sep + strings.ReplaceAll(name, "/", sep), body: files[name]})
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func expectChart(t *testing.T, archive []byte, ok bool, want string) answer {
	t.Helper()
	return expect(t, "chart", string(archive), ok, readerLoader, want)
}

// TestLoadInvalidArchive is Helm's TestLoadInvalidArchive: one file with each illegal name.
func TestLoadInvalidArchive(t *testing.T) {
	for _, c := range []struct{ internal, want string }{
		{"../../malformed-helm-test", "chart illegally references parent directory"},
		{"/foo/../../malformed-helm-test", "chart illegally references parent directory"},
		{"/../../malformed-helm-test", "chart illegally references parent directory"},
		{"./../../malformed-helm-test", "chart illegally references parent directory"},
		{"./.", "chart illegally contains content outside the base directory"},
		{"/./.", "chart illegally contains content outside the base directory"},
		{"missing-leading-slash", "chart illegally contains content outside the base directory"},
		{"/missing-leading-slash", "Chart.yaml file is missing"},
		{"//foo", "chart illegally contains absolute paths"},
		{"///foo", "chart illegally contains absolute paths"},
		{"\\\\foo", "chart illegally contains absolute paths"},
		{"\\..\\..\\foo", "chart illegally references parent directory"},

		// Under special circumstances, this can get normalized to things that look like absolute Windows paths
		{"\\.\\c:\\\\foo", "chart contains illegally named files"},
		{"/./c://foo", "chart contains illegally named files"},
		{"\\\\?\\Some\\windows\\magic", "chart illegally contains absolute paths"},
	} {
		expectChart(t, tgz(t, entry{name: c.internal, body: "hello: world"}), false, c.want)
	}

	// Make sure that absolute path gets interpreted as relative
	expectChart(t, tgz(t, entry{name: "/Chart.yaml", body: "hello: world"}), false, "^validation: chart.metadata.name is required$")
	// And just to validate that the above was not spurious
	expectChart(t, tgz(t, entry{name: "files/whatever.yaml", body: "hello: world"}), false, "^Chart.yaml file is missing$")
	// Finally, test that drive letter gets stripped off on Windows
	expectChart(t, tgz(t, entry{name: "c:\\Chart.yaml", body: "hello: world"}), false, "^validation: chart.metadata.name is required$")
	// A Chart.yaml that is the first part of the path (archive.go's own check).
	expectChart(t, tgz(t, entry{name: "Chart.yaml/x", body: "a"}), false, "^chart yaml not in base directory$")
	// Not gzip at all.
	a := expectChart(t, []byte("name: x\nversion: 1.0\n"), false, "^gzip: invalid header$")
	if !hasNote(a, "helm's LoadFile would first refuse: file 'chart.tgz' does not appear to be a gzipped archive") {
		t.Errorf("no ensureArchive note: %q", a.Notes)
	}
}

// TestLoadArchiveFiles is Helm's archive_test.go TestLoadArchiveFiles, plus the size limits
// of v3.17.3 (archive.go).
func TestLoadArchiveFiles(t *testing.T) {
	cases++
	if _, err := LoadArchiveFiles(bytes.NewReader(tgz(t))); err == nil || err.Error() != "no files in chart archive" {
		t.Errorf(`empty input: got %v, want "no files in chart archive"`, err)
	}
	cases++
	files, err := LoadArchiveFiles(bytes.NewReader(tgz(t,
		entry{name: "pax_global_header", flag: tar.TypeXGlobalHeader},
		entry{name: "dir/empty"})))
	if err != nil || len(files) != 1 {
		t.Errorf("pax_global_header: got %v, %d files; want 1 file", err, len(files))
	}

	chartYAML := "apiVersion: v2\nname: big\nversion: 0.1.0\n"
	// One file over MaxDecompressedFileSize (5 MiB).
	big := strings.Repeat("a", int(MaxDecompressedFileSize)+1)
	expectChart(t, tgz(t, entry{name: "big/Chart.yaml", body: chartYAML}, entry{name: "big/files/huge", body: big}), false,
		`^decompressed chart file "big/files/huge" is larger than the maximum file size 5242880$`)
	expectChart(t, tgz(t, entry{name: "big/Chart.yaml", body: chartYAML}, entry{name: "big/files/huge", body: big[:MaxDecompressedFileSize]}), true, "")
	// The whole chart over MaxDecompressedChartSize, lowered here as Helm's callers may.
	defer func(was int64) { MaxDecompressedChartSize = was }(MaxDecompressedChartSize)
	MaxDecompressedChartSize = 1000
	expectChart(t, tgz(t, entry{name: "big/Chart.yaml", body: chartYAML}, entry{name: "big/a", body: strings.Repeat("a", 600)}, entry{name: "big/b", body: strings.Repeat("b", 600)}), false,
		"^decompressed chart is larger than the maximum file size 1000$")
	// v3 refuses a chart of exactly the limit too (remainingSize <= 0).
	expectChart(t, tgz(t, entry{name: "big/Chart.yaml", body: chartYAML}, entry{name: "big/a", body: strings.Repeat("a", 1000-len(chartYAML))}), false,
		"^decompressed chart is larger than the maximum file size 1000$")
	expectChart(t, tgz(t, entry{name: "big/Chart.yaml", body: chartYAML}, entry{name: "big/a", body: strings.Repeat("a", 999-len(chartYAML))}), true, "")
}

const frobnitzChartYAML = `apiVersion: v1
name: frobnitz
description: This is a frobnitz.
version: "1.2.3"
keywords:
  - frobnitz
  - sprocket
  - dodad
maintainers:
  - name: The Helm Team
    email: helm@example.com
  - name: Someone Else
    email: nobody@example.com
sources:
  - https://example.com/foo/bar
home: http://example.com
icon: https://example.com/64x64.png
`

const frobnitzDependencies = `dependencies:
  - name: alpine
    version: "0.1.0"
    repository: https://example.com/charts
  - name: mariner
    version: "4.3.2"
    repository: https://example.com/charts
`

// frobnitz rebuilds Helm's testdata/frobnitz chart (the files pkg/chart/loader/testdata/
// genfrob.sh packs; the Chart.yaml, values, Chart.lock and templates as in Helm, the other
// files' contents stand-ins, and mast2-0.1.0.tgz rebuilt from mast1's shape), returning its
// files and those of its packed subchart mariner-4.3.2.tgz.
func frobnitz(t *testing.T, name, sep, bom string) map[string]string {
	albatross := tgz(t, chartFiles("albatross", "/", map[string]string{
		"Chart.yaml":  "name: albatross\ndescription: A Helm chart for Kubernetes\nversion: 0.1.0\nhome: \"\"\n",
		"values.yaml": "albatross: \"true\"\n\nglobal:\n  author: Coleridge\n",
	})...)
	mariner := tgz(t, chartFiles("mariner", "/", map[string]string{
		"Chart.yaml": "name: mariner\ndescription: A Helm chart for Kubernetes\nversion: 4.3.2\nhome: \"\"\n" +
			"dependencies:\n  - name: albatross\n    repository: https://example.com/mariner/charts\n    version: \"0.1.0\"\n",
		"values.yaml":                "# Default values for mariner.\n",
		"templates/placeholder.tpl":  "# This is a placeholder.\n",
		"charts/albatross-0.1.0.tgz": string(albatross),
	})...)
	mast2 := tgz(t, chartFiles("mast2", "/", map[string]string{
		"Chart.yaml":  "apiVersion: v1\nname: mast2\ndescription: A Helm chart for Kubernetes\nversion: 0.1.0\nhome: \"\"\n",
		"values.yaml": "# Default values for mast2.\n",
	})...)
	chartYAML := strings.Replace(frobnitzChartYAML, "name: frobnitz", "name: "+name, 1) +
		"annotations:\n  extrakey: extravalue\n  anotherkey: anothervalue\n" + frobnitzDependencies
	return map[string]string{
		".helmignore":               bom + "ignore/\n",
		"Chart.yaml":                bom + chartYAML,
		"Chart.lock":                frobnitzDependencies + "digest: invalid\n",
		"INSTALL.txt":               "stand-in\n",
		"LICENSE":                   "stand-in\n",
		"README.md":                 "stand-in\n",
		"docs/README.md":            "stand-in\n",
		"icon.svg":                  "<svg/>\n",
		"values.yaml":               "# A values file contains configuration.\n\nname: \"Some Name\"\n\nsection:\n  name: \"Name in a section\"\n",
		"templates/template.tpl":    bom + "Hello {{.Name | default \"world\"}}\n",
		"charts/_ignore_me":         "",
		"charts/alpine/Chart.yaml":  "apiVersion: v1\nname: alpine\ndescription: Deploy a basic Alpine Linux pod\nversion: 0.1.0\nhome: https://helm.sh/helm\n",
		"charts/alpine/README.md":   "stand-in\n",
		"charts/alpine/values.yaml": "# The pod name\nname: \"my-alpine\"\n",
		"charts/alpine/templates/alpine-pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{.Release.Name}}-{{.Chart.Name}}\n",
		"charts/alpine/charts/mast1/Chart.yaml":   "apiVersion: v1\nname: mast1\ndescription: A Helm chart for Kubernetes\nversion: 0.1.0\nhome: \"\"\n",
		"charts/alpine/charts/mast1/values.yaml":  "# Default values for mast1.\n",
		"charts/alpine/charts/mast2-0.1.0.tgz":    string(mast2),
		"charts/mariner-4.3.2.tgz":                string(mariner),
	}
}

// verifyFrobnitz is load_test.go's verifyChart + verifyDependencies + verifyChartFileAndTemplate.
func verifyFrobnitz(t *testing.T, c *Chart, name string) {
	t.Helper()
	cases++
	if c.Name() != name {
		t.Errorf("Expected %s, got %s", name, c.Name())
	}
	if len(c.Templates) != 1 || c.Templates[0].Name != "templates/template.tpl" {
		t.Errorf("Expected 1 template templates/template.tpl, got %d", len(c.Templates))
	}
	if len(c.Files) != 6 {
		t.Errorf("Expected 6 Files, got %d", len(c.Files))
	}
	if len(c.Metadata.Dependencies) != 2 || c.Lock == nil || len(c.Lock.Dependencies) != 2 {
		t.Errorf("Expected 2 Dependencies and 2 Lock.Dependency")
	}
	for i, want := range []Dependency{{Name: "alpine", Version: "0.1.0", Repository: "https://example.com/charts"}, {Name: "mariner", Version: "4.3.2", Repository: "https://example.com/charts"}} {
		if d := c.Metadata.Dependencies[i]; d.Name != want.Name || d.Version != want.Version || d.Repository != want.Repository {
			t.Errorf("dependency %d: %+v, want %+v", i, d, want)
		}
	}
	versions := map[string]string{"alpine": "0.1.0", "mariner": "4.3.2"}
	if len(c.Dependencies()) != 2 {
		t.Fatalf("Expected 2 Dependency, got %d", len(c.Dependencies()))
	}
	for _, dep := range c.Dependencies() {
		if versions[dep.Name()] != dep.Metadata.Version {
			t.Errorf("Expected %s version %s, got %s", dep.Name(), versions[dep.Name()], dep.Metadata.Version)
		}
		switch dep.Name() {
		case "alpine":
			if len(dep.Templates) != 1 || dep.Templates[0].Name != "templates/alpine-pod.yaml" || len(dep.Files) != 1 || len(dep.Dependencies()) != 2 {
				t.Errorf("alpine: %d templates, %d files, %d dependencies", len(dep.Templates), len(dep.Files), len(dep.Dependencies()))
			}
		case "mariner":
			if len(dep.Dependencies()) != 1 || dep.Dependencies()[0].Name() != "albatross" {
				t.Errorf("mariner: want the albatross subchart")
			}
		}
	}
	// verifyBomStripped
	for _, f := range c.Files {
		if bytes.HasPrefix(f.Data, utf8bom) {
			t.Errorf("BOM not stripped from %s", f.Name)
		}
	}
}

// TestLoadFrobnitz: TestLoadFile, TestLoadFileBackslash and TestLoadArchiveWithUTFBOM on the
// rebuilt frobnitz archives, through the chart kind and through LoadArchive.
func TestLoadFrobnitz(t *testing.T) {
	for _, v := range []struct{ name, sep, bom string }{
		{"frobnitz", "/", ""},
		{"frobnitz_backslash", "\\", ""},
		{"frobnitz", "/", string(utf8bom)},
	} {
		archive := tgz(t, chartFiles(v.name, v.sep, frobnitz(t, v.name, v.sep, v.bom))...)
		a := expectChart(t, archive, true, "")
		if !hasNote(a, "chart "+v.name+" 1.2.3, 2 subcharts") {
			t.Errorf("%s: notes %q", v.name, a.Notes)
		}
		c, err := LoadArchive(bytes.NewReader(archive))
		if err != nil {
			t.Fatalf("Failed to load testdata: %s", err)
		}
		verifyFrobnitz(t, c, v.name)
	}

	// frobnitz.v1: dependencies in requirements.yaml (TestLoadV1 / TestLoadFileV1).
	files := frobnitz(t, "frobnitz", "/", "")
	files["Chart.yaml"] = frobnitzChartYAML
	files["requirements.yaml"] = frobnitzDependencies
	files["requirements.lock"] = files["Chart.lock"]
	delete(files, "Chart.lock")
	c, err := LoadArchive(bytes.NewReader(tgz(t, chartFiles("frobnitz", "/", files)...)))
	cases++
	if err != nil || len(c.Metadata.Dependencies) != 2 || len(c.Lock.Dependencies) != 2 || len(helmWarnings) != 0 {
		t.Errorf("frobnitz.v1: %v, warnings %q", err, helmWarnings)
	}
	// frobnitz.v2.reqs: apiVersion v2 with requirements.yaml loads, with Helm's warning.
	files["Chart.yaml"] = strings.Replace(frobnitzChartYAML, "apiVersion: v1", "apiVersion: v2", 1)
	delete(files, "requirements.lock")
	a := expectChart(t, tgz(t, chartFiles("frobnitz", "/", files)...), true, "")
	if !hasNote(a, `helm log: Warning: Dependencies are handled in Chart.yaml since apiVersion "v2".`) {
		t.Errorf("frobnitz.v2.reqs: no warning in %q", a.Notes)
	}

	// Duplicate keys in values.yaml (testdata/frobnitz_with_duplicate_keys): yaml.v2 keeps the last.
	files = frobnitz(t, "frobnitz", "/", "")
	files["values.yaml"] = "# A values file contains configuration.\n\nname: \"Some Name\"\n\nsection:\n  name: \"Name in a section\"\n\nsection:\n  name: \"Duplicate section name\"\n"
	expectChart(t, tgz(t, chartFiles("frobnitz", "/", files)...), true, "")

	// Broken parts are named with the subchart they are in.
	files = frobnitz(t, "frobnitz", "/", "")
	files["charts/alpine/Chart.yaml"] = "apiVersion: v1\nversion: 0.1.0\n"
	expectChart(t, tgz(t, chartFiles("frobnitz", "/", files)...), false, "^error unpacking alpine in frobnitz: validation: chart.metadata.name is required$")
	files = frobnitz(t, "frobnitz", "/", "")
	files["charts/broken-1.0.0.tgz"] = "not a gzip stream at all"
	expectChart(t, tgz(t, chartFiles("frobnitz", "/", files)...), false, "^error unpacking broken-1.0.0.tgz in frobnitz: gzip: invalid header$")
	files = frobnitz(t, "frobnitz", "/", "")
	files["charts/sub.tgz/inner"] = "x"
	expectChart(t, tgz(t, chartFiles("frobnitz", "/", files)...), false, "^error unpacking tar in frobnitz: expected sub.tgz, got sub.tgz/inner$")
	files = frobnitz(t, "frobnitz", "/", "")
	files["values.yaml"] = "- a list\n"
	expectChart(t, tgz(t, chartFiles("frobnitz", "/", files)...), false, "^cannot load values.yaml: error unmarshaling JSON")
	files = frobnitz(t, "frobnitz", "/", "")
	files["Chart.lock"] = "generated: yesterday\n"
	expectChart(t, tgz(t, chartFiles("frobnitz", "/", files)...), false, "^cannot load Chart.lock: error unmarshaling JSON")
	files = frobnitz(t, "frobnitz", "/", "")
	// sigs.k8s.io/yaml turns scalars into strings for string fields, so a number passes...
	files["Chart.yaml"] = "apiVersion: v2\nname: frobnitz\nversion: 1.2.3\nannotations:\n  n: 1\n"
	expectChart(t, tgz(t, chartFiles("frobnitz", "/", files)...), true, "")
	// ...but a map does not.
	files["Chart.yaml"] = "apiVersion: v2\nname: frobnitz\nversion: 1.2.3\nannotations:\n  n: {a: b}\n"
	expectChart(t, tgz(t, chartFiles("frobnitz", "/", files)...), false, "^cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go struct field Metadata.annotations of type string$")
}

// TestLoadFiles is Helm's TestLoadFiles and TestLoadFilesOrder.
func TestLoadFiles(t *testing.T) {
	goodFiles := []*BufferedFile{
		{Name: "Chart.yaml", Data: []byte(frobnitzChartYAML)},
		{Name: "values.yaml", Data: []byte("var: some values")},
		{Name: "values.schema.json", Data: []byte("type: Values")},
		{Name: "templates/deployment.yaml", Data: []byte("some deployment")},
		{Name: "templates/service.yaml", Data: []byte("some service")},
	}
	cases++
	c, err := LoadFiles(goodFiles)
	if err != nil || c.Name() != "frobnitz" || c.Values["var"] != "some values" || len(c.Raw) != 5 ||
		!bytes.Equal(c.Schema, []byte("type: Values")) || len(c.Templates) != 2 {
		t.Errorf("Expected good files to be loaded, got %v", err)
	}
	cases++
	if _, err = LoadFiles([]*BufferedFile{}); err == nil || err.Error() != "Chart.yaml file is missing" {
		t.Errorf("Expected chart metadata missing error, got '%v'", err)
	}

	// Test the order of file loading. The Chart.yaml file needs to come first for
	// later comparison checks. See https://github.com/helm/helm/pull/8948
	helmWarnings = nil
	cases++
	_, err = LoadFiles([]*BufferedFile{
		{Name: "requirements.yaml", Data: []byte("dependencies:")},
		{Name: "values.yaml", Data: []byte("var: some values")},
		{Name: "templates/deployment.yaml", Data: []byte("some deployment")},
		{Name: "templates/service.yaml", Data: []byte("some service")},
		{Name: "Chart.yaml", Data: []byte(frobnitzChartYAML)},
	})
	if err != nil || len(helmWarnings) != 0 {
		t.Errorf("Expected good files to be loaded with no message, got %v, %q", err, helmWarnings)
	}
}

// TestValidate is Helm's metadata_test.go TestValidate and TestValidate_sanitize, on the port,
// plus the same cases as Chart.yaml text through the chart-yaml kind.
func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		md   *Metadata
		err  error
	}{
		{"chart without metadata", nil, ValidationError("chart.metadata is required")},
		{"chart without apiVersion", &Metadata{Name: "test", Version: "1.0"}, ValidationError("chart.metadata.apiVersion is required")},
		{"chart without name", &Metadata{APIVersion: "v2", Version: "1.0"}, ValidationError("chart.metadata.name is required")},
		{"chart without name", &Metadata{Name: "../../test", APIVersion: "v2", Version: "1.0"}, ValidationError("chart.metadata.name \"../../test\" is invalid")},
		{"chart without version", &Metadata{Name: "test", APIVersion: "v2"}, ValidationError("chart.metadata.version is required")},
		{"chart with bad type", &Metadata{Name: "test", APIVersion: "v2", Version: "1.0", Type: "test"}, ValidationError("chart.metadata.type must be application or library")},
		{"chart without dependency", &Metadata{Name: "test", APIVersion: "v2", Version: "1.0", Type: "application"}, nil},
		{"dependency with valid alias", &Metadata{Name: "test", APIVersion: "v2", Version: "1.0", Type: "application",
			Dependencies: []*Dependency{{Name: "dependency", Alias: "legal-alias"}}}, nil},
		{"dependency with bad characters in alias", &Metadata{Name: "test", APIVersion: "v2", Version: "1.0", Type: "application",
			Dependencies: []*Dependency{{Name: "bad", Alias: "illegal alias"}}}, ValidationError("dependency \"bad\" has disallowed characters in the alias")},
		{"same dependency twice", &Metadata{Name: "test", APIVersion: "v2", Version: "1.0", Type: "application",
			Dependencies: []*Dependency{{Name: "foo", Alias: ""}, {Name: "foo", Alias: ""}}}, ValidationError("more than one dependency with name or alias \"foo\"")},
		{"two dependencies with alias from second dependency shadowing first one", &Metadata{Name: "test", APIVersion: "v2", Version: "1.0", Type: "application",
			Dependencies: []*Dependency{{Name: "foo", Alias: ""}, {Name: "bar", Alias: "foo"}}}, ValidationError("more than one dependency with name or alias \"foo\"")},
		{"same dependency twice with different version", &Metadata{Name: "test", APIVersion: "v2", Version: "1.0", Type: "application",
			Dependencies: []*Dependency{{Name: "foo", Alias: "", Version: "1.2.3"}, {Name: "foo", Alias: "", Version: "1.0.0"}}}, ValidationError("more than one dependency with name or alias \"foo\"")},
		{"two dependencies with same name but different repos", &Metadata{Name: "test", APIVersion: "v2", Version: "1.0", Type: "application",
			Dependencies: []*Dependency{{Name: "foo", Repository: "repo-0"}, {Name: "foo", Repository: "repo-1"}}}, ValidationError("more than one dependency with name or alias \"foo\"")},
		{"dependencies has nil", &Metadata{Name: "test", APIVersion: "v2", Version: "1.0", Type: "application",
			Dependencies: []*Dependency{nil}}, ValidationError("dependencies must not contain empty or null nodes")},
		{"maintainer not empty", &Metadata{Name: "test", APIVersion: "v2", Version: "1.0", Type: "application",
			Maintainers: []*Maintainer{nil}}, ValidationError("maintainers must not contain empty or null nodes")},
		{"version invalid", &Metadata{APIVersion: "v2", Name: "test", Version: "1.2.3.4"}, ValidationError("chart.metadata.version \"1.2.3.4\" is invalid")},
		{"name dot", &Metadata{APIVersion: "v2", Name: "..", Version: "1.0"}, ValidationError("chart.metadata.name \"..\" is not allowed")},
	} {
		cases++
		if result := tt.md.Validate(); result != tt.err {
			t.Errorf("expected %q, got %q in test %q", tt.err, result, tt.name)
		}
	}
	cases++
	md := &Metadata{APIVersion: "v2", Name: "test", Version: "1.0", Description: "\adescr\u0081iption\rtest", Maintainers: []*Maintainer{{Name: "\r"}}}
	if err := md.Validate(); err != nil || md.Description != "description test" || md.Maintainers[0].Name != " " {
		t.Errorf("not sanitized: %v %q", err, md.Description)
	}

	// The same as Chart.yaml text (no apiVersion means v1, as LoadFiles assumes).
	for _, c := range []struct {
		yaml string
		ok   bool
		want string
	}{
		{"name: test\nversion: 1.0\n", true, ""},
		{"apiVersion: v2\nversion: 1.0\n", false, "^validation: chart.metadata.name is required$"},
		{"apiVersion: v2\nname: ../../test\nversion: 1.0\n", false, `^validation: chart.metadata.name "../../test" is invalid$`},
		{"apiVersion: v2\nname: test\n", false, "^validation: chart.metadata.version is required$"},
		{"apiVersion: v2\nname: test\nversion: 1.0\ntype: test\n", false, "^validation: chart.metadata.type must be application or library$"},
		{"apiVersion: v2\nname: test\nversion: 1.0\ndependencies:\n  - name: bad\n    alias: illegal alias\n", false, `^validation: dependency "bad" has disallowed characters in the alias$`},
		{"apiVersion: v2\nname: test\nversion: 1.0\ndependencies:\n  - name: foo\n  - name: bar\n    alias: foo\n", false, `^validation: more than one dependency with name or alias "foo"$`},
		{"apiVersion: v2\nname: test\nversion: 1.0\ndependencies:\n  -\n", false, "^validation: dependencies must not contain empty or null nodes$"},
		{"apiVersion: v2\nname: test\nversion: 1.0\nmaintainers:\n  - ~\n", false, "^validation: maintainers must not contain empty or null nodes$"},
		{"apiVersion: v2\nname: test\nversion: 1.2.3.4\n", false, `^validation: chart.metadata.version "1.2.3.4" is invalid$`},
		{"apiVersion: v2\nname: test\nversion: v1.2\n", true, ""},
		{"apiVersion: v2\nname: test\nversion: [1]\n", false, "^cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go struct field Metadata.version of type string$"},
		{"apiVersion: v2\nname: test\nversion: 1.0\nname: other\n", true, ""},
	} {
		expect(t, "chart-yaml", c.yaml, c.ok, "", c.want)
	}
}

// ---- the protocol ----

func TestProtocol(t *testing.T) {
	kinds["boom"] = func([]byte, *[]string) (string, error) { panic("boom") }
	defer delete(kinds, "boom")
	line := func(kind, data string) string {
		b, _ := json.Marshal(request{Kind: kind, Data: base64.StdEncoding.EncodeToString([]byte(data))})
		return string(b) + "\n"
	}
	in := line("values", "a: 1\n") + "\n" + line("values", "a: [\n") + "not json\n" +
		`{"kind":"yaml","data":"%%%"}` + "\n" + line("nope", "") + line("boom", "") + line("yaml", "a: 1")
	var out bytes.Buffer
	if err := serve(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		ok     bool
		reader string
		err    string
	}{
		{true, readerSigs, ""},
		{false, readerSigs, "did not find expected node content"},
		{false, "request", "not a JSON object"},
		{false, "request", "not standard base64"},
		{false, "request", `unknown kind "nope"`},
		{false, "panic", "boom"},
		{true, readerSigs, ""},
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d answers, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, w := range want {
		cases++
		var a answer
		if err := json.Unmarshal([]byte(lines[i]), &a); err != nil {
			t.Fatalf("answer %d is not JSON: %v", i, err)
		}
		if a.OK != w.ok || a.Reader != w.reader || !strings.Contains(a.Error, w.err) {
			t.Errorf("answer %d: %+v, want %+v", i, a, w)
		}
	}
}
