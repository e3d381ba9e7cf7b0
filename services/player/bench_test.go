package player_test

import (
	"net/http/httptest"
	"testing"

	"github.com/narrator-project/narrator/services/player"
	"github.com/narrator-project/narrator/services/publish/publishtest"
)

// BenchmarkPage serves a player page: the manifest read from the FS store
// and the page rendered.
func BenchmarkPage(b *testing.B) {
	e := newEnv(b, player.Config{Download: true})
	n, _, _ := e.publish(b, publishtest.Options{})
	h := e.player.Handler()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/player/"+n.Key, nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
