package queue_test

import (
	"testing"

	"github.com/narrator-project/narrator/queue"
)

func TestAddWarningsKeepsOnePerChunkAndCode(t *testing.T) {
	one, two := 1, 2
	var j queue.Job
	j.AddWarnings(
		queue.Warning{Stage: "synth", Chunk: &one, Code: "abrupt_end", Message: "first"},
		queue.Warning{Stage: "synth", Chunk: &two, Code: "abrupt_end", Message: "other chunk"},
		queue.Warning{Stage: "synth", Chunk: &one, Code: "duration", Message: "other code"},
		queue.Warning{Stage: "stitch", Code: "peak_limited", Message: "whole narration"},
	)
	// A redelivered task, and the stitcher's view of the same findings.
	j.AddWarnings(
		queue.Warning{Stage: "stitch", Chunk: &one, Code: "abrupt_end", Message: "again"},
		queue.Warning{Stage: "stitch", Code: "peak_limited", Message: "again"},
	)
	if len(j.Warnings) != 4 || j.Warnings[0].Message != "first" || j.Warnings[3].Message != "whole narration" {
		t.Errorf("warnings %+v", j.Warnings)
	}
	if s := j.Warnings[0].String(); s != "chunk 1: abrupt_end: first" {
		t.Errorf("String() = %q", s)
	}
}
