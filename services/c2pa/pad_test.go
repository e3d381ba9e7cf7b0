package c2pa

import "testing"

// TestPadLengthsFitEverySize checks that the signature's padding can grow
// a manifest store by any number of bytes, including those a single CBOR
// byte string cannot (its header grows by one byte at 24 and 256).
func TestPadLengthsFitEverySize(t *testing.T) {
	for extra := 0; extra < 70000; extra++ {
		p1, p2 := padLengths(extra)
		got := bstrLen(p1) - bstrLen(0)
		if p2 >= 0 {
			got += len("pad2") + 1 + bstrLen(p2)
		}
		if got != extra || p1 < 0 {
			t.Fatalf("extra %d: pad %d and pad2 %d add %d bytes", extra, p1, p2, got)
		}
	}
}
