package api

import (
	"cmp"
	"net/url"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/synth"
)

// narration is the API's view of a job.
type narration struct {
	ID          string         `json:"id"`
	ArticleID   string         `json:"article_id"`
	Revision    int            `json:"revision"`
	State       queue.State    `json:"state"`
	Stage       string         `json:"stage,omitempty"`
	Progress    int            `json:"progress"` // percent, 100 when done
	Title       string         `json:"title,omitempty"`
	Section     string         `json:"section,omitempty"`
	Author      string         `json:"author,omitempty"`
	Publication string         `json:"publication,omitempty"`
	Priority    queue.Priority `json:"priority"`
	Source      source         `json:"source"`
	Options     options        `json:"options"`
	Chunks      chunks         `json:"chunks"`
	Chars       int            `json:"chars"`
	Billed      int            `json:"billed_chars"`
	Estimate    int            `json:"estimated_chars,omitempty"`
	CostUSD     *float64       `json:"cost_usd,omitempty"`           // of the billed characters, when a price is configured
	EstimateUSD *float64       `json:"estimated_cost_usd,omitempty"` // of the estimate
	// The listening check's recognition, in its own unit beside the
	// characters: seconds heard (as billed) and estimated, and their
	// price when one is known.
	HeardSeconds      int      `json:"heard_seconds,omitempty"`
	EstimateHeard     int      `json:"estimated_heard_seconds,omitempty"`
	ListenCostUSD     *float64 `json:"listen_cost_usd,omitempty"`
	ListenEstimateUSD *float64 `json:"listen_estimated_cost_usd,omitempty"`
	Error             string   `json:"error,omitempty"`
	FailedStage       string   `json:"failed_stage,omitempty"`
	// Warnings are what an editor should hear for: a chunk that seems cut
	// off, a loudness short of the target (the narration is published).
	Warnings []queue.Warning   `json:"warnings,omitempty"`
	Timings  map[string]timing `json:"timings,omitempty"`
	// FirstAudio is how long after submission the first chunk was ready
	// to play, and StreamURL where it plays while the rest is made.
	FirstAudio *float64  `json:"first_audio_seconds,omitempty"`
	StreamURL  string    `json:"stream_url,omitempty"`
	Audio      *audio    `json:"audio,omitempty"`
	PlayerURL  string    `json:"player_url,omitempty"`
	Links      links     `json:"links"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
}

type source struct {
	Kind string `json:"kind"`
	URL  string `json:"url,omitempty"`
	Name string `json:"name,omitempty"`
}

type options struct {
	Provider string  `json:"provider"`
	Model    string  `json:"model,omitempty"`
	Voice    string  `json:"voice,omitempty"`
	Speed    float64 `json:"speed,omitempty"`
	Language string  `json:"language,omitempty"`
}

type chunks struct {
	Total  int     `json:"total"`
	Done   int     `json:"done"`
	Failed int     `json:"failed"`
	Items  []chunk `json:"items,omitempty"` // in the single-narration view only
}

type chunk struct {
	Index    int              `json:"index"`
	State    queue.ChunkState `json:"state"`
	Chars    int              `json:"chars"`
	CacheHit bool             `json:"cache_hit,omitempty"`
	Billed   int              `json:"billed_chars,omitempty"`
	Attempts int              `json:"attempts,omitempty"`
	Error    string           `json:"error,omitempty"`
	Seconds  float64          `json:"seconds,omitempty"` // synthesis wall time
}

type timing struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end,omitzero"`
	Seconds float64   `json:"seconds,omitempty"`
}

type audio struct {
	URL      string            `json:"url"`
	Bytes    int64             `json:"bytes"`
	Duration float64           `json:"duration_seconds"`
	SHA256   string            `json:"sha256"`
	Loudness float64           `json:"loudness_lufs,omitempty"`
	Level    *queue.Level      `json:"level,omitempty"` // the loudness against its target, and why
	Files    map[string]string `json:"files,omitempty"`
}

type links struct {
	Self         string `json:"self"`
	Events       string `json:"events"`
	UnknownWords string `json:"unknown_words"`
	Heard        string `json:"heard"` // the chunks the listening check flagged
	Dashboard    string `json:"dashboard"`
}

// stageOrder lists the stages in pipeline order, for timings tables.
var stageOrder = []string{pipeline.StageClean, pipeline.StageChunk, pipeline.StageSynth, pipeline.StageStitch, pipeline.StagePublish}

// progress estimates how far a job is, in percent: synthesis, the long
// part, spans 10 to 85 by chunks done. The dashboard's script mirrors it.
func progress(state queue.State, stage string, chunksDone, chunksTotal int) int {
	if state == queue.Done {
		return 100
	}
	switch stage {
	case pipeline.StageClean:
		return 5
	case pipeline.StageChunk:
		return 10
	case pipeline.StageSynth:
		if chunksTotal > 0 {
			return 10 + 75*chunksDone/chunksTotal
		}
		return 10
	case pipeline.StageStitch:
		return 90
	case pipeline.StagePublish:
		return 95
	}
	return 0
}

// view builds a job's view; cs are its chunks' statuses when known.
func (s *Server) view(j queue.Job, cs []queue.Chunk, withItems bool) narration {
	n := narration{
		ID: j.ID, ArticleID: j.ArticleID, Revision: j.Revision, State: j.State, Stage: j.Stage,
		Title: j.Title, Section: j.Options.Section, Author: j.Options.Author, Publication: j.Options.Publication,
		Priority: cmp.Or(j.Priority, queue.Normal),
		Source:   source{Kind: j.Source.Kind, URL: j.Source.URL, Name: j.Source.Name},
		Options:  options{Provider: j.Options.Provider, Model: j.Options.Model, Voice: j.Options.Voice, Speed: j.Options.Speed, Language: j.Options.Language},
		Chars:    j.Chars, Billed: j.BilledChars, Estimate: j.Estimate,
		Error: j.Error, FailedStage: j.FailedStage, Warnings: j.Warnings,
		Created: j.Created, Updated: j.Updated,
	}
	if n.Title == "" {
		n.Title = j.Options.Title
	}
	// Chunk statuses are written just before the chunk stage records how
	// many there are.
	n.Chunks.Total = max(j.Chunks, len(cs))
	for _, c := range cs {
		switch c.State {
		case queue.ChunkDone:
			n.Chunks.Done++
		case queue.ChunkFailed:
			n.Chunks.Failed++
		}
		if withItems {
			it := chunk{Index: c.Index, State: c.State, Chars: c.Chars, CacheHit: c.CacheHit, Billed: c.BilledChars, Attempts: c.Attempts, Error: c.Error}
			if !c.End.IsZero() && !c.Start.IsZero() {
				it.Seconds = c.End.Sub(c.Start).Seconds()
			}
			n.Chunks.Items = append(n.Chunks.Items, it)
		}
	}
	if j.State == queue.Done || j.State == queue.Unpublished {
		n.Chunks.Done = max(n.Chunks.Done, j.Chunks)
	}
	n.Progress = progress(j.State, j.Stage, n.Chunks.Done, n.Chunks.Total)
	if price, ok := s.cfg.Prices[j.Options.Provider]; ok {
		n.CostUSD = ptr(usd(j.BilledChars, price))
		if j.Estimate > 0 {
			n.EstimateUSD = ptr(usd(j.Estimate, price))
		}
	}
	n.HeardSeconds, n.EstimateHeard = j.HeardSeconds, j.EstimateHeard
	if price := s.cfg.ListenPrice; price > 0 {
		if j.HeardSeconds > 0 {
			n.ListenCostUSD = ptr(synth.ListenUSD(j.HeardSeconds, price))
		}
		if j.EstimateHeard > 0 {
			n.ListenEstimateUSD = ptr(synth.ListenUSD(j.EstimateHeard, price))
		}
	}
	if len(j.Timings) > 0 {
		n.Timings = map[string]timing{}
		for st, t := range j.Timings {
			n.Timings[st] = timing{Start: t.Start, End: t.End, Seconds: t.Duration().Seconds()}
		}
	}
	if !j.FirstAudio.IsZero() {
		n.FirstAudio = ptr(j.TimeToFirstAudio().Seconds())
		if j.State != queue.Failed && j.State != queue.Unpublished {
			n.StreamURL = s.p.StreamURL(j.ID)
		}
	}
	if o := j.Output; o != nil {
		n.Audio = &audio{URL: o.URL, Bytes: o.Bytes, Duration: o.Duration.Seconds(), SHA256: o.SHA256, Loudness: o.Loudness, Level: o.Level, Files: o.Files}
	}
	if s.cfg.PlayerPath != "" && j.State == queue.Done {
		n.PlayerURL = s.cfg.PlayerPath + url.PathEscape(j.ArticleID)
	}
	base := "/api/narrations/" + url.PathEscape(j.ID)
	n.Links = links{Self: base, Events: base + "/events", UnknownWords: base + "/unknown-words", Heard: base + "/heard", Dashboard: "/dashboard/narrations/" + url.PathEscape(j.ID)}
	return n
}

func usd(chars int, perMillion float64) float64 { return float64(chars) * perMillion / 1e6 }

func ptr[T any](v T) *T { return &v }
