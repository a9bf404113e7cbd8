package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// runCorpus judges every pack folder under dir (a folder holding pack.json): its values.yaml
// as values, each kubeManifests file as manifest, each charts entry as chart. It prints one
// line per refusal and per note worth a look, then a summary; it reads the packs only.
func runCorpus(dir string, out io.Writer) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "palette-readers:", err)
		return 2
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	counts := map[string]int{}
	refused := 0
	for _, name := range names {
		packDir := filepath.Join(dir, name)
		raw, err := os.ReadFile(filepath.Join(packDir, "pack.json"))
		if err != nil {
			continue
		}
		var pack struct {
			KubeManifests []string `json:"kubeManifests"`
			Charts        []string `json:"charts"`
		}
		if err := json.Unmarshal(raw, &pack); err != nil {
			fmt.Fprintf(out, "REFUSED  pack.json      %s/pack.json: %v\n", name, err)
			refused++
			continue
		}
		files := [][2]string{}
		if _, err := os.Stat(filepath.Join(packDir, "values.yaml")); err == nil {
			files = append(files, [2]string{"values", "values.yaml"})
		}
		for _, m := range pack.KubeManifests {
			files = append(files, [2]string{"manifest", m})
		}
		for _, c := range pack.Charts {
			files = append(files, [2]string{"chart", c})
		}
		for _, f := range files {
			kind, rel := f[0], f[1]
			counts[kind]++
			data, err := os.ReadFile(filepath.Join(packDir, rel))
			if err != nil {
				fmt.Fprintf(out, "MISSING  %-9s %s/%s: %v\n", kind, name, rel, err)
				refused++
				continue
			}
			a := judge(kind, data)
			if !a.OK {
				refused++
				fmt.Fprintf(out, "REFUSED  %-9s %s/%s: [%s] %s\n", kind, name, rel, a.Reader, a.Error)
			}
			for _, note := range a.Notes {
				if worthShowing(note) {
					fmt.Fprintf(out, "  note   %-9s %s/%s: %s\n", kind, name, rel, oneLine(note))
				}
			}
		}
	}
	fmt.Fprintf(out, "corpus: %d packs, %d values, %d manifests, %d charts; %d refused or missing\n",
		len(names), counts["values"], counts["manifest"], counts["chart"], refused)
	return 0
}

// worthShowing keeps the notes that bear on a verdict: a template refusal, the macro
// pre-processing deciding, an unclosed block, and other readers disagreeing.
func worthShowing(note string) bool {
	for _, prefix := range []string{"text/template: ", "without renderMacros", "renderMacros:", "gopkg.in/yaml.v3", "Helm v4", "helm's LoadFile"} {
		if strings.HasPrefix(note, prefix) {
			return true
		}
	}
	return false
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ⏎ ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
