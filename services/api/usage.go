package api

import (
	"context"
	"net/http"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/synth"
)

// usage is billed characters per provider, today and this month (UTC),
// and beside them the seconds the listening check heard.
type usage struct {
	Day       string          `json:"day"`   // 2026-03-04
	Month     string          `json:"month"` // 2026-03
	Providers []providerUsage `json:"providers"`
	Listening *listenUsage    `json:"listening,omitempty"` // when anything was heard this month or a price is set
}

// listenUsage is the listening check's recognition, billed by the second.
type listenUsage struct {
	Today     int      `json:"today_seconds"`
	Month     int      `json:"month_seconds"`
	TodayUSD  *float64 `json:"today_usd,omitempty"`
	MonthUSD  *float64 `json:"month_usd,omitempty"`
	PerMinute *float64 `json:"usd_per_minute,omitempty"`
}

type providerUsage struct {
	Provider   string   `json:"provider"`
	Today      int      `json:"today_chars"`
	Month      int      `json:"month_chars"`
	TodayUSD   *float64 `json:"today_usd,omitempty"`
	MonthUSD   *float64 `json:"month_usd,omitempty"`
	PerMillion *float64 `json:"usd_per_million_chars,omitempty"`
}

// usage sums the queue's billing records of this month, one record per
// request a provider billed.
func (s *Server) usage(ctx context.Context) (usage, error) {
	now := s.cfg.Now().UTC()
	u := usage{Day: now.Format(time.DateOnly), Month: now.Format("2006-01"), Providers: []providerUsage{}}
	for _, p := range s.cfg.Providers {
		pu := providerUsage{Provider: p}
		byDay, err := s.q.Jobs().Billed(ctx, p, now)
		if err != nil {
			return u, err
		}
		for _, n := range byDay {
			pu.Month += n
		}
		pu.Today = byDay[now.Day()]
		if price, ok := s.cfg.Prices[p]; ok {
			pu.TodayUSD, pu.MonthUSD, pu.PerMillion = ptr(usd(pu.Today, price)), ptr(usd(pu.Month, price)), ptr(price)
		}
		u.Providers = append(u.Providers, pu)
	}
	byDay, err := s.q.Jobs().Billed(ctx, queue.ListenBilling, now)
	if err != nil {
		return u, err
	}
	var lu listenUsage
	for _, n := range byDay {
		lu.Month += n
	}
	lu.Today = byDay[now.Day()]
	if p := s.cfg.ListenPrice; p > 0 {
		lu.TodayUSD, lu.MonthUSD, lu.PerMinute = ptr(synth.ListenUSD(lu.Today, p)), ptr(synth.ListenUSD(lu.Month, p)), ptr(p)
	}
	if lu.Month > 0 || lu.PerMinute != nil {
		u.Listening = &lu
	}
	return u, nil
}

func (s *Server) getUsage(w http.ResponseWriter, r *http.Request, _ session) {
	u, err := s.usage(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}
