package pipeline

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/synth"
)

var (
	ttsSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "narrator_tts_request_duration_seconds",
		Help:    "Speech synthesis calls by provider and status (ok, cached, 429, auth, quota, unavailable, bad_audio, rejected, error).",
		Buckets: []float64{0.05, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120},
	}, []string{"provider", "status"})
	billedChars = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "narrator_billed_characters_total",
		Help: "Characters billed by speech providers.",
	}, []string{"provider"})
	cacheLookups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "narrator_cache_lookups_total",
		Help: "Chunk audio lookups in the synthesis cache, by result (hit, miss).",
	}, []string{"provider", "result"})
)

// Collectors returns the pipeline's Prometheus metrics.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{ttsSeconds, billedChars, cacheLookups}
}

// observeSynth records one synthesis of a chunk.
func observeSynth(provider string, res synth.Result, err error, took time.Duration) {
	if res.Billed > 0 {
		billedChars.WithLabelValues(provider).Add(float64(res.Billed))
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
