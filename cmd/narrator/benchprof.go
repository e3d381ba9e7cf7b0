package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// cpuProfile is what narrator bench reads from a worker's CPU profile (the
// pprof protocol buffer): CPU time by stage label, and how much of each
// stage's was spent in functions of interest.
type cpuProfile struct {
	ByStage map[string]int64 // nanoseconds; "" for samples with no stage
	// Within are nanoseconds whose stack holds a function whose name
	// contains the key ("go-mp3" for decoding), by stage.
	Within map[string]map[string]int64
	Total  int64
}

// readCPUProfile reads a gzipped pprof CPU profile, attributing samples to
// the "stage" label and to stacks holding any of the names.
func readCPUProfile(path string, names ...string) (cpuProfile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return cpuProfile{}, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return cpuProfile{}, fmt.Errorf("profile %s: %w", path, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return cpuProfile{}, fmt.Errorf("profile %s: %w", path, err)
	}
	p, err := parseProfile(data)
	if err != nil {
		return cpuProfile{}, fmt.Errorf("profile %s: %w", path, err)
	}
	return p.attribute(names), nil
}

// profile is the part of pprof's Profile message read here.
type profile struct {
	strings   []string
	valueIdx  int // the sample value in nanoseconds (sample_type "cpu")
	types     [][2]int64
	samples   []sample
	functions map[uint64]int64    // function id → name string index
	locations map[uint64][]uint64 // location id → function ids (inlined first)
}

type sample struct {
	locs   []uint64
	values []int64
	labels [][2]int64 // key, str string indexes
}

var errProfile = errors.New("malformed pprof profile")

// fields calls fn with each field of a protocol buffer message.
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, bytes []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errProfile
		}
		b = b[n:]
		var v uint64
		var bs []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			bs, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errProfile
		}
		b = b[n:]
		if err := fn(num, typ, v, bs); err != nil {
			return err
		}
	}
	return nil
}

// ints reads a repeated integer field, packed or not.
func ints(typ protowire.Type, v uint64, bs []byte) ([]uint64, error) {
	if typ == protowire.VarintType {
		return []uint64{v}, nil
	}
	var out []uint64
	for len(bs) > 0 {
		x, n := protowire.ConsumeVarint(bs)
		if n < 0 {
			return nil, errProfile
		}
		out, bs = append(out, x), bs[n:]
	}
	return out, nil
}

func parseProfile(data []byte) (*profile, error) {
	p := &profile{functions: map[uint64]int64{}, locations: map[uint64][]uint64{}}
	err := fields(data, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch num {
		case 1: // sample_type
			var t [2]int64
			err := fields(bs, func(n protowire.Number, _ protowire.Type, v uint64, _ []byte) error {
				if n == 1 || n == 2 {
					t[n-1] = int64(v)
				}
				return nil
			})
			p.types = append(p.types, t)
			return err
		case 2: // sample
			var s sample
			err := fields(bs, func(n protowire.Number, typ protowire.Type, v uint64, b []byte) error {
				switch n {
				case 1:
					xs, err := ints(typ, v, b)
					s.locs = append(s.locs, xs...)
					return err
				case 2:
					xs, err := ints(typ, v, b)
					for _, x := range xs {
						s.values = append(s.values, int64(x))
					}
					return err
				case 3:
					var l [2]int64
					err := fields(b, func(n protowire.Number, _ protowire.Type, v uint64, _ []byte) error {
						if n == 1 || n == 2 {
							l[n-1] = int64(v)
						}
						return nil
					})
					s.labels = append(s.labels, l)
					return err
				}
				return nil
			})
			p.samples = append(p.samples, s)
			return err
		case 4: // location
			var id uint64
			var fns []uint64
			err := fields(bs, func(n protowire.Number, _ protowire.Type, v uint64, b []byte) error {
				switch n {
				case 1:
					id = v
				case 4:
					return fields(b, func(n protowire.Number, _ protowire.Type, v uint64, _ []byte) error {
						if n == 1 {
							fns = append(fns, v)
						}
						return nil
					})
				}
				return nil
			})
			p.locations[id] = fns
			return err
		case 5: // function
			var id uint64
			var name int64
			err := fields(bs, func(n protowire.Number, _ protowire.Type, v uint64, _ []byte) error {
				switch n {
				case 1:
					id = v
				case 2:
					name = int64(v)
				}
				return nil
			})
			p.functions[id] = name
			return err
		case 6: // string_table
			p.strings = append(p.strings, string(bs))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.valueIdx = -1
	for i, t := range p.types {
		if p.str(t[0]) == "cpu" {
			p.valueIdx = i
		}
	}
	if p.valueIdx < 0 {
		return nil, fmt.Errorf("%w: no cpu sample type", errProfile)
	}
	return p, nil
}

func (p *profile) str(i int64) string {
	if i < 0 || int(i) >= len(p.strings) {
		return ""
	}
	return p.strings[i]
}

func (p *profile) attribute(names []string) cpuProfile {
	out := cpuProfile{ByStage: map[string]int64{}, Within: map[string]map[string]int64{}}
	for _, name := range names {
		out.Within[name] = map[string]int64{}
	}
	for _, s := range p.samples {
		if p.valueIdx >= len(s.values) {
			continue
		}
		ns := s.values[p.valueIdx]
		stage := ""
		for _, l := range s.labels {
			if p.str(l[0]) == "stage" {
				stage = p.str(l[1])
			}
		}
		out.ByStage[stage] += ns
		out.Total += ns
		for _, name := range names {
			if p.stackHas(s, name) {
				out.Within[name][stage] += ns
			}
		}
	}
	return out
}

// stackHas reports whether a sample's stack holds a function whose name
// contains name.
func (p *profile) stackHas(s sample, name string) bool {
	for _, loc := range s.locs {
		for _, fn := range p.locations[loc] {
			if strings.Contains(p.str(p.functions[fn]), name) {
				return true
			}
		}
	}
	return false
}
