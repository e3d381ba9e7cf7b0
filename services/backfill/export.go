package backfill

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// export lists the articles of a newsroom's own export: JSON Lines, one
// object per line, or CSV with a header row, of the fields id, url, html,
// title, section, author and date (each article needs an id or a url;
// without html its page is fetched). Articles come in the file's order.
type export struct {
	spec Spec
	get  *Getter
}

func (e *export) Describe() string { return e.spec.Describe() }

// exportRow is one article of an export, JSON's field names.
type exportRow struct {
	ID      string `json:"id"`
	URL     string `json:"url"`
	HTML    string `json:"html"`
	Title   string `json:"title"`
	Section string `json:"section"`
	Author  string `json:"author"`
	Date    string `json:"date"`
}

func (r exportRow) article() Article {
	return Article{ID: strings.TrimSpace(cmpOr(r.ID, r.URL)), URL: strings.TrimSpace(r.URL), HTML: r.HTML,
		Title: r.Title, Section: r.Section, Author: r.Author, Date: parseDate(r.Date)}
}

func cmpOr(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}

// open returns the export's content.
func (e *export) open(ctx context.Context) (io.ReadCloser, error) {
	if e.spec.Path != "" {
		f, err := os.Open(e.spec.Path)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSpec, err)
		}
		return f, nil
	}
	body, _, err := e.get.Get(ctx, e.spec.URL, "application/x-ndjson, application/jsonl, text/csv, */*;q=0.1")
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(body)), nil
}

func (e *export) Count(ctx context.Context, f Filter) (int, error) {
	n := 0
	err := e.List(ctx, f, func(Article) error { n++; return nil })
	return n, err
}

func (e *export) List(ctx context.Context, f Filter, fn func(Article) error) error {
	r, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	each := func(line int, row exportRow) error {
		a := row.article()
		if a.ID == "" {
			return fmt.Errorf("%w: %s line %d: an article needs an id or a url", ErrSpec, e.spec.Describe(), line)
		}
		if a.HTML == "" && a.URL == "" {
			return fmt.Errorf("%w: %s line %d: article %q has neither html nor a url to fetch it from", ErrSpec, e.spec.Describe(), line, a.ID)
		}
		if !f.admits(a) || !f.sectioned(a.Section, true) {
			return nil
		}
		return fn(a)
	}
	if e.spec.Kind == KindCSV {
		return readCSV(r, each)
	}
	return readJSONL(r, each)
}

func readJSONL(r io.Reader, each func(int, exportRow) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20) // an article's HTML on one line
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var row exportRow
		if err := json.Unmarshal(text, &row); err != nil {
			return fmt.Errorf("%w: line %d is not a JSON object: %w", ErrSpec, line, err)
		}
		if err := each(line, row); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrSpec, err)
	}
	return nil
}

func readCSV(r io.Reader, each func(int, exportRow) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%w: the CSV has no header row: %w", ErrSpec, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	if _, ok := col["id"]; !ok {
		if _, ok := col["url"]; !ok {
			return fmt.Errorf("%w: the CSV header %q has neither an id nor a url column", ErrSpec, strings.Join(head, ","))
		}
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrSpec, err)
		}
		row := exportRow{ID: field(rec, "id"), URL: field(rec, "url"), HTML: field(rec, "html"), Title: field(rec, "title"),
			Section: field(rec, "section"), Author: field(rec, "author"), Date: field(rec, "date")}
		if err := each(line, row); err != nil {
			return err
		}
	}
}
