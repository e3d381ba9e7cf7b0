package mp3

// SilentFrame returns a frame in like's format (version, sample rate,
// channel mode and bitrate) that decodes to silence: its side info is all
// zero, so no granule carries any bits, and it uses no bit reservoir. No
// encoder is needed, and a decoder's overlap from the frame before it fades
// out naturally instead of being cut.
func SilentFrame(like Header) []byte {
	h := like
	h.Protected, h.Padding, h.ModeExt = false, false, 0
	b := make([]byte, h.Size())
	hb := h.Bytes()
	copy(b, hb[:])
	return b
}
