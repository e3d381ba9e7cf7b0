package pipeline

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/synth"
)

// requestBuckets are the durations, in seconds, speech requests (of
// synthesis and of recognition) are counted by.
var requestBuckets = []float64{0.05, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120}

var (
	ttsSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "narrator_tts_request_duration_seconds",
		Help:    "Speech synthesis calls by provider and status (ok, cached, 429, auth, quota, unavailable, bad_audio, rejected, error).",
		Buckets: requestBuckets,
	}, []string{"provider", "status"})
	billedChars = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "narrator_billed_characters_total",
		Help: "Characters billed by speech providers.",
	}, []string{"provider"})
	cacheLookups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "narrator_cache_lookups_total",
		Help: "Chunk audio lookups in the synthesis cache, by result (hit, miss).",
	}, []string{"provider", "result"})
	listenSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "narrator_listen_request_duration_seconds",
		Help:    "Speech recognition calls of the listening check by listener and status (ok, 429, auth, quota, unavailable, rejected, error).",
		Buckets: requestBuckets,
	}, []string{"listener", "status"})
	heardSeconds = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "narrator_heard_audio_seconds_total",
		Help: "Seconds of chunk audio transcribed by the listening check, as billed.",
	}, []string{"listener"})
	listenChecks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "narrator_listen_checks_total",
		Help: "Chunks synthesized with the listening check on, by outcome (passed, misheard, unchecked).",
	}, []string{"provider", "outcome"})
)

// Collectors returns the pipeline's Prometheus metrics.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{ttsSeconds, billedChars, cacheLookups, listenSeconds, heardSeconds, listenChecks}
}

// observeListen records one recognition request (synth.Listening.Observe).
func observeListen(listener string, seconds float64, err error, took time.Duration) {
	if seconds > 0 {
		heardSeconds.WithLabelValues(listener).Add(seconds)
	}
	listenSeconds.WithLabelValues(listener, ttsStatus(err)).Observe(took.Seconds())
}

// observeSynth records one synthesis of a chunk.
func observeSynth(provider string, res synth.Result, err error, took time.Duration) {
	if res.Billed > 0 {
		billedChars.WithLabelValues(provider).Add(float64(res.Billed))
	}
	if h := res.Verdict.Heard; err == nil && h != nil {
		outcome := "passed"
		switch {
		case !h.Checked:
			outcome = "unchecked"
		case !h.Passed:
			outcome = "misheard"
		}
		listenChecks.WithLabelValues(provider, outcome).Inc()
	}
	if err == nil && res.Cached {
		cacheLookups.WithLabelValues(provider, "hit").Inc()
		ttsSeconds.WithLabelValues(provider, "cached").Observe(took.Seconds())
		return
	}
	cacheLookups.WithLabelValues(provider, "miss").Inc()
	ttsSeconds.WithLabelValues(provider, ttsStatus(err)).Observe(took.Seconds())
}

func ttsStatus(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, synth.ErrRateLimited):
		return "429"
	case errors.Is(err, synth.ErrAuth):
		return "auth"
	case errors.Is(err, synth.ErrQuota):
		return "quota"
	case errors.Is(err, synth.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, synth.ErrBadAudio):
		return "bad_audio"
	case fault.IsPermanent(err):
		return "rejected"
	}
	return "error"
}
