package faketts_test

import (
	"maps"
	"testing"

	"github.com/narrator-project/narrator/services/synth/faketts"
)

func TestParseScript(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[int]faketts.Fault
		ok   bool
	}{
		{"", map[int]faketts.Fault{}, true},
		{"1=429, 3=hang,10=truncate", map[int]faketts.Fault{1: "429", 3: "hang", 10: "truncate"}, true},
		{"0=500", nil, false},
		{"x=500", nil, false},
		{"2=boom", nil, false},
		{"2=500,2=503", nil, false},
		{"2", nil, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := faketts.ParseScript(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
			if tc.ok && !maps.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzParseScript(f *testing.F) {
	f.Add("1=429,3=hang")
	f.Add("")
	f.Add("7=reset, 8=short")
	f.Fuzz(func(t *testing.T, s string) {
		script, err := faketts.ParseScript(s)
		if err != nil {
			return
		}
		for n, fault := range script {
			if n < 1 {
				t.Errorf("request number %d accepted", n)
			}
			if fault == faketts.NoFault {
				t.Errorf("empty fault accepted for request %d", n)
			}
		}
	})
}
