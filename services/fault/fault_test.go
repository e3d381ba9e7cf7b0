package fault

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestClassification(t *testing.T) {
	base := errors.New("boom")
	for _, tc := range []struct {
		name      string
		err       error
		permanent bool
		halt      bool
		after     time.Duration
	}{
		{"plain", base, false, false, 0},
		{"permanent", Permanent(base), true, false, 0},
		{"halt", Halt(base), true, true, 0},
		{"retry", Retry(base, time.Second), false, false, time.Second},
		{"wrapped halt", fmt.Errorf("chunk 3: %w", Halt(base)), true, true, 0},
		{"wrapped retry", fmt.Errorf("chunk 3: %w", Retry(base, 2*time.Second)), false, false, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsPermanent(tc.err); got != tc.permanent {
				t.Errorf("IsPermanent = %v", got)
			}
			if got := IsHalt(tc.err); got != tc.halt {
				t.Errorf("IsHalt = %v", got)
			}
			if got := RetryAfter(tc.err); got != tc.after {
				t.Errorf("RetryAfter = %v", got)
			}
			if !errors.Is(tc.err, base) {
				t.Error("the cause is lost")
			}
			if tc.err.Error() != "boom" && tc.err.Error() != "chunk 3: boom" {
				t.Errorf("message %q changed", tc.err)
			}
		})
	}
	if Permanent(nil) != nil || Retry(nil, time.Second) != nil || Halt(nil) != nil {
		t.Error("nil must stay nil")
	}
}
