package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// indexEntries reads the whole index: subjects by job id, for checks.
func indexEntries(t testing.TB, q *Queue) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	_, err := q.direct(context.Background(), IndexStream, directRequest{Seq: 1, Batch: 100000}, func(m directMsg) bool {
		e := toIndexed(m)
		out[e.job.ID] = append(out[e.job.ID], m.Subject)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkIndex fails the test unless every job has exactly one index entry,
// the one its key points at, where its state and section say, and no
// entry lacks a job.
func checkIndex(t testing.TB, q *Queue, jobs []Job) {
	t.Helper()
	entries := indexEntries(t, q)
	for _, j := range jobs {
		got, err := q.Jobs().Get(context.Background(), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := entrySubject(got); !slices.Equal(entries[j.ID], []string{want}) {
			t.Errorf("job %s: index entries %v, want [%s]", j.ID, entries[j.ID], want)
		}
		if m, err := q.index.GetMsg(context.Background(), got.IndexSeq); err != nil || m.Subject != entrySubject(got) {
			t.Errorf("job %s points at index entry %d: %v", j.ID, got.IndexSeq, err)
		}
		delete(entries, j.ID)
	}
	for id, subj := range entries {
		t.Errorf("index entries %v for no job %s", subj, id)
	}
}

func TestSectionToken(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "_"},
		{"Politics", "politics"},
		{"  sport ", "sport"},
		{"Arts & Culture", "arts-culture"},
		{"arts-culture", "arts-culture"},
		{"U.S. News", "u-s-news"},
		{"*>.", "h" + SectionToken("*>.")[1:]},
	} {
		if got := SectionToken(tc.in); got != tc.want {
			t.Errorf("SectionToken(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	uk, uk2 := SectionToken("Політика"), SectionToken("політика")
	if uk != uk2 || len(uk) != 17 || uk == SectionToken("Спорт") {
		t.Errorf("Ukrainian sections: %q %q %q", uk, uk2, SectionToken("Спорт"))
	}
}

// TestPageFiltersCountsAndPages lists jobs through the index: newest
// change first, filtered by state, section and time, paged with the
// cursor, counted per state, with every job read once.
func TestPageFiltersCountsAndPages(t *testing.T) {
	q := newQueue(t, Config{})
	ctx := context.Background()
	jobs := q.Jobs()
	var all []Job
	for i := range 40 {
		j := Job{ID: fmt.Sprintf("j%02d", i), State: Queued, Options: Options{Section: []string{"Politics", "Sport", "Arts & Culture", ""}[i%4]}}
		if err := jobs.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		all = append(all, j)
	}
	mid := time.Now()
	// Half move on: every even job finishes, every tenth fails.
	for i := 0; i < 40; i += 2 {
		st := Done
		if i%10 == 0 {
			st = Failed
		}
		if _, err := jobs.Update(ctx, all[i].ID, func(j *Job) error { j.State = st; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	checkIndex(t, q, all)

	counts, err := jobs.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[State]int{Queued: 20, Running: 0, Done: 16, Failed: 4, Unpublished: 0}; !maps(counts, want) {
		t.Errorf("counts %v, want %v", counts, want)
	}

	walk := func(f JobFilter, limit int) (ids []string, total int) {
		t.Helper()
		var cursor uint64
		for pages := 0; ; pages++ {
			p, err := jobs.Page(ctx, f, cursor, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Jobs) > limit || pages > 50 {
				t.Fatalf("page of %d (limit %d), page %d", len(p.Jobs), limit, pages)
			}
			for _, j := range p.Jobs {
				ids = append(ids, j.ID)
			}
			total = p.Total
			if p.Next == 0 {
				return ids, total
			}
			cursor = p.Next
		}
	}
	// Most recently changed first: the updated jobs, newest update first,
	// then the untouched ones, newest first.
	var want []string
	for i := 38; i >= 0; i -= 2 {
		want = append(want, all[i].ID)
	}
	for i := 39; i >= 1; i -= 2 {
		want = append(want, all[i].ID)
	}
	for _, limit := range []int{1, 3, 7, 50} {
		if ids, total := walk(JobFilter{}, limit); !slices.Equal(ids, want) || total != 40 {
			t.Errorf("limit %d: %v (total %d), want %v", limit, ids, total, want)
		}
	}
	for _, tc := range []struct {
		name string
		f    JobFilter
		want func(i int) bool
	}{
		{"failed", JobFilter{States: []State{Failed}}, func(i int) bool { return i%10 == 0 }},
		{"done or failed", JobFilter{States: []State{Done, Failed}}, func(i int) bool { return i%2 == 0 }},
		{"sport", JobFilter{Section: "SPORT"}, func(i int) bool { return i%4 == 1 }},
		{"no section", JobFilter{Section: ""}, func(int) bool { return true }},
		{"queued arts", JobFilter{States: []State{Queued}, Section: "arts-culture"}, func(i int) bool { return i%4 == 2 && i%2 == 1 }},
		{"done politics", JobFilter{States: []State{Done}, Section: "Politics"}, func(i int) bool { return i%4 == 0 && i%10 != 0 }},
		{"changed after mid", JobFilter{Since: mid}, func(i int) bool { return i%2 == 0 }},
		{"changed before mid", JobFilter{Until: mid}, func(i int) bool { return i%2 == 1 }},
		{"queued before mid", JobFilter{States: []State{Queued}, Until: mid}, func(i int) bool { return i%2 == 1 }},
		{"running", JobFilter{States: []State{Running}}, func(int) bool { return false }},
	} {
		for _, limit := range []int{2, 100} {
			ids, total := walk(tc.f, limit)
			var exp []string
			for _, id := range want {
				var i int
				fmt.Sscanf(id, "j%d", &i)
				if tc.want(i) {
					exp = append(exp, id)
				}
			}
			if !slices.Equal(ids, exp) || total != len(exp) {
				t.Errorf("%s, limit %d: %v (total %d), want %v", tc.name, limit, ids, total, exp)
			}
		}
	}
}

func maps(a, b map[State]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestIndexFollowsConcurrentUpdates races writers on the same jobs; the
// index must end as the keys say.
func TestIndexFollowsConcurrentUpdates(t *testing.T) {
	q := newQueue(t, Config{})
	ctx := context.Background()
	jobs := q.Jobs()
	var all []Job
	for i := range 8 {
		j := Job{ID: fmt.Sprintf("race%d", i), State: Queued}
		if err := jobs.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		all = append(all, j)
	}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for n := range 30 {
				j := all[(w+n)%len(all)]
				st := States[(w*7+n)%len(States)]
				if _, err := jobs.Update(ctx, j.ID, func(j *Job) error {
					j.State = st
					j.Options.Section = []string{"a", "b", "c"}[n%3]
					return nil
				}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	checkIndex(t, q, all)
}

// TestIndexRepairs leaves the index as writers killed at each step would,
// or as a version without an index did, and checks how each is found and
// mended: a listing that meets a stale entry, an update with nothing to
// change, and Reconcile.
func TestIndexRepairs(t *testing.T) {
	q := newQueue(t, Config{})
	ctx := context.Background()
	jobs := q.Jobs()
	defer func(age time.Duration) { orphanAge = age }(orphanAge)
	orphanAge = 0 // every entry counts as old here
	var all []Job
	for i := range 6 {
		j := Job{ID: fmt.Sprintf("r%d", i), State: Running}
		if err := jobs.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		all = append(all, j)
	}
	raw := func(id string) (Job, uint64) {
		t.Helper()
		e, err := q.jobs.Get(ctx, jobKey(id))
		if err != nil {
			t.Fatal(err)
		}
		var j Job
		if err := json.Unmarshal(e.Value(), &j); err != nil {
			t.Fatal(err)
		}
		return j, e.Revision()
	}
	write := func(j Job, rev uint64) {
		t.Helper()
		data, _ := json.Marshal(j)
		if _, err := q.jobs.Update(ctx, jobKey(j.ID), data, rev); err != nil {
			t.Fatal(err)
		}
	}
	// r0: died after writing the new entry, before the key: an orphan.
	j, _ := raw("r0")
	j.State = Done
	if _, err := jobs.putEntry(ctx, j); err != nil {
		t.Fatal(err)
	}
	// r1: died after the key, before removing the old entry: a stale one.
	j, rev := raw("r1")
	j.State = Failed
	if j.IndexSeq, _ = jobs.putEntry(ctx, j); j.IndexSeq == 0 {
		t.Fatal("no entry")
	}
	write(j, rev)
	// r2: its entry lost altogether.
	j, _ = raw("r2")
	if err := q.index.DeleteMsg(ctx, j.IndexSeq); err != nil {
		t.Fatal(err)
	}
	// r6: written by a version that kept no index.
	data, _ := json.Marshal(Job{ID: "r6", State: Done})
	if _, err := q.jobs.Create(ctx, jobKey("r6"), data); err != nil {
		t.Fatal(err)
	}
	all = append(all, Job{ID: "r6"})

	// Until they are found, r0's orphan and r1's stale entry show in
	// listings, though never twice on one page.
	p, err := jobs.Page(ctx, JobFilter{}, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range p.Jobs {
		ids = append(ids, j.ID)
	}
	if !slices.Equal(ids, []string{"r1", "r0", "r5", "r4", "r3"}) {
		t.Errorf("listed %v", ids)
	}
	// r0's orphan and r1's stale entry stand against r2's and r6's
	// missing ones and cancel out in the counts; the scrub finds all four.
	if err := jobs.Reconcile(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if e := indexEntries(t, q); len(e["r0"]) != 2 || len(e["r6"]) != 0 {
		t.Errorf("without a scrub: r0 %v, r6 %v", e["r0"], e["r6"])
	}
	if err := jobs.Reconcile(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, q, all)
	// An update with nothing to change mends r3, whose entry is lost.
	j, _ = raw("r3")
	if err := q.index.DeleteMsg(ctx, j.IndexSeq); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Update(ctx, "r3", func(*Job) error { return ErrSkip }); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, q, all)
	counts, err := jobs.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[State]int{Queued: 0, Running: 5, Done: 1, Failed: 1, Unpublished: 0}; !maps(counts, want) {
		t.Errorf("counts after repair: %v, want %v", counts, want)
	}
	// A version without the index left r7: the counts differ, and
	// Reconcile indexes it without being asked to scrub.
	data, _ = json.Marshal(Job{ID: "r7", State: Failed})
	if _, err := q.jobs.Create(ctx, jobKey("r7"), data); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Reconcile(ctx, 0); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, q, append(all, Job{ID: "r7"}))
}
