package pipeline

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/narrator-project/narrator/queue"
)

// Stage names: each is a subject of the task stream and a durable consumer.
// Synthesis has one stage per provider, so that a worker takes only the
// chunks it has credentials for.
const (
	StageClean   = "clean"
	StageChunk   = "chunk"
	StageSynth   = "synth" // StageSynth + "." + provider
	StageStitch  = "stitch"
	StagePublish = "publish"
	StageFeed    = "feed"
	StageWebhook = "webhook"
)

// Stages lists every stage in pipeline order, synthesis once per provider.
func Stages(providers ...string) []string {
	s := []string{StageClean, StageChunk}
	for _, p := range providers {
		s = append(s, synthStage(p))
	}
	return append(s, StageStitch, StagePublish, StageFeed, StageWebhook)
}

func synthStage(provider string) string { return StageSynth + "." + provider }

// banded reports whether a stage's lanes are split into bands by how soon
// a listener needs the task (queue.Band): synthesis, whose tasks are a
// story's chunks in reading order.
func banded(stage string) bool { return strings.HasPrefix(stage, StageSynth+".") }

// Consumers returns the names of a stage's durable consumers on the task
// stream, in the order its workers take tasks from them.
func Consumers(stage string) []string { return queue.Consumers(stage, banded(stage)) }

// listenedBand is the band of a chunk that starts after the given number
// of characters: the chunks heard in the first minute, about 900
// characters at a narrator's 15 a second, go first; those of the next four
// minutes next; the rest after them.
func listenedBand(charsBefore int) queue.Band {
	switch {
	case charsBefore < 900:
		return queue.First
	case charsBefore < 4500:
		return queue.Soon
	}
	return queue.Later
}

// Task is the message every stage receives: which job revision to work on
// and, for synthesis, which chunk. Everything else is read from job state
// and blobs, so tasks stay small and a redelivered task sees the latest.
type Task struct {
	Job      string         `json:"job"`
	Rev      int            `json:"rev"`
	Chunk    int            `json:"chunk,omitempty"`
	Priority queue.Priority `json:"priority,omitempty"`
	// Redo counts the times the stitch stage sent chunks whose stored audio
	// was spoilt or gone back to synthesis; it is part of the tasks'
	// de-duplication ids, so that the repeat is not taken for a copy.
	Redo int `json:"redo,omitempty"`
}

// LogAttrs names the task in logs.
func (t Task) LogAttrs() []any { return []any{"job_id", t.Job, "revision", t.Rev} }

// to is the task as a message to a stage, in the lane of its priority.
func (t Task) to(stage string) queue.Message {
	return queue.Message{Stage: stage, ID: t.msgID(stage), Data: t, Priority: t.Priority}
}

// synthTask is the task of synthesizing chunk i with provider, which
// follows before characters in the listening: the chunks heard first are
// synthesized first, ahead of the later chunks of stories submitted
// earlier in the same lane.
func (t Task) synthTask(i int, provider string, before int) queue.Message {
	t.Chunk = i
	m := t.to(synthStage(provider))
	m.Band = listenedBand(before)
	return m
}

// msgID is the task's de-duplication id: a redelivered stage republishes
// the same ids and JetStream drops the copies.
func (t Task) msgID(stage string) string {
	id := stage + "-" + t.Job + "-" + strconv.Itoa(t.Rev)
	if strings.HasPrefix(stage, StageSynth) {
		id += "-" + strconv.Itoa(t.Chunk)
	}
	if t.Redo > 0 {
		id += "-redo" + strconv.Itoa(t.Redo)
	}
	return id
}

// Blob names of a job revision's intermediate files.
func sourceBlob(job, hash string) string { return "source/" + job + "/" + hash }
func scriptBlob(t Task) string           { return fmt.Sprintf("script/%s/%d.json", t.Job, t.Rev) }
func planBlob(t Task) string             { return fmt.Sprintf("plan/%s/%d.json", t.Job, t.Rev) }
func outputBlob(t Task) string           { return fmt.Sprintf("output/%s/%d.mp3", t.Job, t.Rev) }
func resultBlob(t Task) string           { return fmt.Sprintf("output/%s/%d.json", t.Job, t.Rev) }
