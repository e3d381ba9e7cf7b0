package backfill

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/narrator-project/narrator/queue"
)

// Manager runs backfills in the background of a long-running process (an
// API server), so that editors start, stop and resume them from the API
// and the dashboard. Runs outlive no Close; a run whose process stopped
// shows as detached until resumed, here or anywhere.
type Manager struct {
	deps     Deps
	defaults Config
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu      sync.Mutex
	running map[string]context.CancelFunc
}

// NewManager returns a manager whose runs use deps and, unless a request
// says otherwise, the defaults' provider options, pacing and rate limits.
func NewManager(deps Deps, defaults Config) *Manager {
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{deps: deps, defaults: defaults, ctx: ctx, cancel: cancel, running: map[string]context.CancelFunc{}}
}

// Store returns where the runs are kept.
func (m *Manager) Store() *Store { return m.deps.Store }

// Request is what an editor asks of a run.
type Request struct {
	Name   string `json:"name,omitempty"`
	Source Spec   `json:"source"`
	Filter Filter `json:"filter"`
	Budget Budget `json:"budget"`
	DryRun bool   `json:"dry_run,omitempty"`
	// Sample, for a dry run, as Config.Sample.
	Sample int `json:"sample,omitempty"`
}

// config merges a request into the defaults.
func (m *Manager) config(r Request) (Config, error) {
	cfg := m.defaults
	cfg.Name, cfg.Source, cfg.Filter, cfg.Budget, cfg.Sample = r.Name, r.Source, r.Filter, r.Budget, r.Sample
	cfg.Progress = nil
	if cfg.Source.Path != "" {
		return cfg, fmt.Errorf("%w: from the API an export is read from its URL, not a file", ErrSpec)
	}
	cfg.setDefaults()
	return cfg, cfg.Validate()
}

// Start starts a run (or its plan, for a dry run) in the background and
// returns its record as it starts.
func (m *Manager) Start(ctx context.Context, r Request) (Run, error) {
	cfg, err := m.config(r)
	if err != nil {
		return Run{}, err
	}
	if r.DryRun {
		return m.plan(ctx, cfg)
	}
	return m.start(ctx, cfg)
}

func (m *Manager) start(ctx context.Context, cfg Config) (Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.running[cfg.Name]; ok {
		return Run{}, fmt.Errorf("%w: backfill %s is already running here", ErrBusy, cfg.Name)
	}
	runner, err := Start(ctx, m.deps, cfg)
	if err != nil {
		return Run{}, err
	}
	runCtx, cancel := context.WithCancel(m.ctx)
	m.running[cfg.Name] = cancel
	m.wg.Go(func() {
		defer func() {
			m.mu.Lock()
			delete(m.running, cfg.Name)
			m.mu.Unlock()
			cancel()
		}()
		if _, err := runner.Run(runCtx); err != nil {
			m.deps.Logger.Error("backfill ended with an error", "backfill", cfg.Name, "err", err)
		}
	})
	return runner.run, nil
}

// plan records a planning run and works its plan out in the background.
func (m *Manager) plan(ctx context.Context, cfg Config) (Run, error) {
	now := time.Now().UTC()
	rec := Run{Name: cfg.Name, Source: cfg.Source, Filter: cfg.Filter, Options: cfg.Options, Budget: cfg.Budget,
		State: StatePlanning, Started: now, Heartbeat: now, Total: -1}
	if err := m.deps.Store.r.Create(ctx, runKey(cfg.Name), rec); err != nil {
		if !errors.Is(err, queue.ErrRecordExists) {
			return Run{}, err
		}
		if rec, err = m.deps.Store.Get(ctx, cfg.Name); err != nil {
			return Run{}, err
		}
		if rec.Active() {
			return Run{}, fmt.Errorf("%w: backfill %s is running; plan it under another name", ErrBusy, cfg.Name)
		}
	}
	m.wg.Go(func() {
		if _, err := MakePlan(m.ctx, m.deps, cfg); err != nil {
			m.deps.Logger.Warn("backfill plan failed", "backfill", cfg.Name, "err", err)
			m.deps.Store.update(context.WithoutCancel(m.ctx), cfg.Name, func(r *Run) error {
				r.State, r.Reason = StateFailed, "the plan could not be made: "+err.Error()
				return nil
			})
		}
	})
	return rec, nil
}

// Stop stops a run: at once if it runs here, else by asking its process.
func (m *Manager) Stop(ctx context.Context, name string) (Run, error) {
	m.mu.Lock()
	cancel, ok := m.running[name]
	m.mu.Unlock()
	if ok {
		cancel()
		return m.deps.Store.Get(ctx, name)
	}
	return m.deps.Store.RequestStop(ctx, name)
}

// Resume runs a stopped, detached or planned run again here, with the
// settings it was started with, from where it stopped.
func (m *Manager) Resume(ctx context.Context, name string) (Run, error) {
	rec, err := m.deps.Store.Get(ctx, name)
	if err != nil {
		return Run{}, err
	}
	if rec.Active() {
		return Run{}, fmt.Errorf("%w: backfill %s is running on %s", ErrBusy, name, rec.Owner)
	}
	if rec.State == StateDone {
		return Run{}, fmt.Errorf("%w: backfill %s is done; start it again to narrate what changed since", ErrNotRunning, name)
	}
	cfg := m.defaults
	cfg.Name, cfg.Source, cfg.Filter, cfg.Options, cfg.Budget, cfg.Progress = rec.Name, rec.Source, rec.Filter, rec.Options, rec.Budget, nil
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return Run{}, err
	}
	return m.start(ctx, cfg)
}

// Close stops every run of this process, each recording where it is, and
// waits for them.
func (m *Manager) Close() {
	m.cancel()
	m.wg.Wait()
}
