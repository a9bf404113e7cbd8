package main

import (
	"strings"
	"unicode"
)

// renderMacros stands in for Palette rendering its template macros ({{ .spectro.system.* }},
// {{ .Values.x }}, Sprig calls) before it reads a values or manifest file as YAML. Palette's
// renderer and its function map are not published, so nothing is evaluated: each action is
// taken out in a fixed way that keeps the line numbers, and that packpub's own pre-processing
// (render_away in src/pack/validate.rs) mirrors rule for rule, so that a differential test
// compares the YAML readers and not two guesses at the renderer:
//
//   - an action inside a line becomes the word x;
//   - a line holding only actions and white space becomes an empty line;
//   - an action spanning lines empties the lines it covers; the text before it on its first
//     line stays (followed by x), and on its last line an x stands for it before the rest;
//   - lines inside the else branch of an if/with/range/block (any {{ else ... }}) and inside a
//     {{ define }} become empty lines, since a branch may hold YAML of another shape;
//   - a comment {{/* */}} is an action that ends at the first }} after its */ (it may
//     hold }}), as Go's lexer reads it.
//
// Delimiters are found by plain search, as packpub does: "}}" inside a quoted string of an
// action ends it early. It also returns the first block left open at the end (its line and
// words; line 0 when none), which Go's template parser would refuse.
func renderMacros(text string) (string, int, string) {
	var out strings.Builder
	out.Grow(len(text))
	// Inside an action that spans lines, and whether it is a comment.
	insideAction, insideComment := false, false
	// Open blocks: the line and words that opened each, and whether its rest is skipped.
	type block struct {
		line    int
		words   string
		skipped bool
	}
	var blocks []block
	number := 0
	for len(text) > 0 {
		number++
		var line string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i+1], text[i+1:]
		} else {
			line, text = text, ""
		}
		body, end := line, ""
		if strings.HasSuffix(line, "\n") {
			body, end = line[:len(line)-1], "\n"
		}
		rest := body
		var kept strings.Builder
		actions := 0
		if insideAction {
			close := actionClose(rest, insideComment)
			if close < 0 {
				out.WriteString(end)
				continue
			}
			insideAction = false
			actions++
			kept.WriteByte('x')
			rest = rest[close+2:]
		}
		onlyActions := true
		for {
			open := strings.Index(rest, "{{")
			if open < 0 {
				break
			}
			onlyActions = onlyActions && strings.TrimSpace(rest[:open]) == ""
			kept.WriteString(rest[:open])
			kept.WriteByte('x')
			actions++
			comment := opensComment(rest[open+2:])
			close := actionClose(rest[open:], comment)
			if close < 0 {
				insideAction, insideComment = true, comment
				rest = ""
				break
			}
			words := strings.TrimFunc(rest[open+2:open+close], func(r rune) bool {
				return r == '-' || unicode.IsSpace(r)
			})
			first := ""
			if fields := strings.Fields(words); len(fields) > 0 {
				first = fields[0]
			}
			switch first {
			case "if", "with", "range", "block":
				blocks = append(blocks, block{number, words, false})
			case "define":
				// A definition renders nowhere: its body is skipped whole.
				blocks = append(blocks, block{number, words, true})
			case "else":
				if len(blocks) > 0 {
					blocks[len(blocks)-1].skipped = true
				}
			case "end":
				if len(blocks) > 0 {
					blocks = blocks[:len(blocks)-1]
				}
			}
			rest = rest[open+close+2:]
		}
		onlyActions = onlyActions && strings.TrimSpace(rest) == "" && actions > 0
		// A line of an else branch, or of nothing but actions, stays as an empty line.
		skipped := false
		for _, b := range blocks {
			skipped = skipped || b.skipped
		}
		if !(onlyActions || skipped) {
			out.WriteString(kept.String())
			out.WriteString(rest)
		}
		out.WriteString(end)
	}
	if len(blocks) > 0 {
		return out.String(), blocks[0].line, blocks[0].words
	}
	return out.String(), 0, ""
}

// opensComment tells whether an action whose text (past "{{") is after is a comment, as Go's
// lexer tells: "/*" at once, or after a trim marker ("-" and one space).
func opensComment(after string) bool {
	if strings.HasPrefix(after, "/*") {
		return true
	}
	return len(after) > 2 && after[0] == '-' && strings.ContainsRune(" \t\r\n", rune(after[1])) &&
		strings.HasPrefix(after[2:], "/*")
}

// actionClose is where the "}}" closing an action is in rest: the first one, or for a comment
// the first after its "*/"; -1 when there is none.
func actionClose(rest string, comment bool) int {
	if !comment {
		return strings.Index(rest, "}}")
	}
	end := strings.Index(rest, "*/")
	if end < 0 {
		return -1
	}
	end += 2
	close := strings.Index(rest[end:], "}}")
	if close < 0 {
		return -1
	}
	return end + close
}
