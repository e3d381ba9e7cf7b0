package synth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/internal/audiotest"
)

// newLocal returns the local engine, failing with what to install when
// espeak-ng or lame is missing.
func newLocal(t testing.TB) *synth.Local {
	t.Helper()
	audiotest.RequireTool(t, "espeak-ng", "espeak-ng")
	audiotest.RequireTool(t, "lame", "lame")
	l, err := synth.NewLocal(t.Context(), synth.LocalConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLocalOutputIsOpenAIFormat(t *testing.T) {
	l := newLocal(t)
	for _, tc := range []struct {
		name, lang, text string
	}{
		{"english", "en", "The council approved the budget on Tuesday. Residents will see lower fees next year."},
		{"ukrainian", "uk", "Міська рада ухвалила бюджет у вівторок. Мешканці платитимуть менше наступного року."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := synth.Request{Text: tc.text, Language: tc.lang}
			audio, err := l.Synthesize(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			s := audiotest.RequireOpenAIFormat(t, audio)
			// Speech at espeak-ng's 175 wpm runs at 10 to 25 characters a second.
			chars := float64(len([]rune(tc.text)))
			if secs := s.Duration.Seconds(); secs < chars/25 || secs > chars/10 {
				t.Errorf("%v of audio for %v characters", s.Duration, chars)
			}
			if err := synth.BasicCheck(audio, req, l.Limits().Format); err != nil {
				t.Errorf("BasicCheck: %v", err)
			}
		})
	}
}

func TestLocalSpeedChangesDuration(t *testing.T) {
	l := newLocal(t)
	text := "Speed maps to espeak's words per minute, so faster speech is shorter audio."
	dur := func(speed float64) time.Duration {
		audio, err := l.Synthesize(t.Context(), synth.Request{Text: text, Speed: speed})
		if err != nil {
			t.Fatal(err)
		}
		return audiotest.Probe(t, audio).Duration
	}
	slow, normal, fast := dur(0.75), dur(1), dur(1.5)
	if !(slow > normal && normal > fast) {
		t.Errorf("durations at speed 0.75, 1, 1.5: %v, %v, %v; want decreasing", slow, normal, fast)
	}
}

func TestLocalTextIsNeverAnArgument(t *testing.T) {
	l := newLocal(t)
	// Were the text passed as an argument or through a shell, espeak-ng
	// would print its help or a shell would run the substitution.
	req := synth.Request{Text: "--help -v xx $(touch /tmp/narrator-pwned) `id`; echo done"}
	audio, err := l.Synthesize(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := synth.BasicCheck(audio, req, synth.OpenAIFormat); err != nil {
		t.Fatal(err)
	}
}

func TestLocalResolve(t *testing.T) {
	l := newLocal(t)
	for _, tc := range []struct {
		name    string
		req     synth.Request
		want    synth.Request
		wantErr error
	}{
		{"defaults", synth.Request{Text: "a", Instructions: "calm"},
			synth.Request{Text: "a", Model: synth.LocalModel, Language: "en", Voice: "en-us", Speed: 1}, nil},
		{"voice by language", synth.Request{Text: "a", Language: "uk"},
			synth.Request{Text: "a", Model: synth.LocalModel, Language: "uk", Voice: "uk", Speed: 1}, nil},
		{"language named voice", synth.Request{Text: "a", Language: "de", Speed: 2},
			synth.Request{Text: "a", Model: synth.LocalModel, Language: "de", Voice: "de", Speed: 2}, nil},
		{"empty", synth.Request{Text: " \n"}, synth.Request{}, synth.ErrRejected},
		{"too long", synth.Request{Text: strings.Repeat("a", 4097)}, synth.Request{}, synth.ErrTooLong},
		{"unknown voice", synth.Request{Text: "a", Voice: "klingon"}, synth.Request{}, synth.ErrRejected},
		{"unknown model", synth.Request{Text: "a", Model: "tts-1"}, synth.Request{}, synth.ErrRejected},
		{"speed", synth.Request{Text: "a", Speed: 5}, synth.Request{}, synth.ErrRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.Resolve(tc.req)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !fault.IsPermanent(err) {
					t.Fatalf("err = %v, want permanent %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLocalCancelStopsTheEngine(t *testing.T) {
	l := newLocal(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := l.Synthesize(ctx, synth.Request{Text: strings.Repeat("A long sentence to read. ", 150)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestLocalDeadlineKillsRunningEngine(t *testing.T) {
	l := newLocal(t)
	// About four minutes of speech at the slowest speed takes espeak-ng and
	// lame far longer than the deadline, so it ends while both run.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := l.Synthesize(ctx, synth.Request{Text: strings.Repeat("A long sentence to read. ", 160), Speed: 0.25})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if fault.IsPermanent(err) {
		t.Errorf("a deadline is not permanent: %v", err)
	}
	t.Logf("returned %v after start", time.Since(start))
}
