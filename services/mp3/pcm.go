package mp3

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// PCM is decoded audio: interleaved samples of Channels channels, each in
// -1..1. It is what a stream is levelled in before it is encoded again.
type PCM struct {
	Rate     int
	Channels int
	Samples  []float64
}

// Frames returns the number of samples per channel.
func (p PCM) Frames() int {
	if p.Channels == 0 {
		return 0
	}
	return len(p.Samples) / p.Channels
}

// Measure returns the integrated loudness (LUFS) and the true peak
// (dBTP) of the audio.
func (p PCM) Measure() (lufs, peakDB float64) {
	m := NewMeter(p.Rate, p.Channels)
	for i := 0; i+p.Channels <= len(p.Samples); i += p.Channels {
		m.Add(p.Samples[i : i+p.Channels]...)
	}
	return m.Integrated(), DB(m.Peak())
}

// Gain scales the audio by db decibels.
func (p PCM) Gain(db float64) {
	g := math.Pow(10, db/20)
	for i := range p.Samples {
		p.Samples[i] *= g
	}
}

// DB converts a linear level (1 is full scale) to decibels, Silent for 0.
func DB(v float64) float64 {
	if v <= 0 {
		return Silent
	}
	return max(20*math.Log10(v), Silent)
}

// DecodePCM decodes a stream in full and returns its analysis and its
// playing samples: the decoder's own delay, and the encoder's delay and
// padding a LAME tag states, are cut off, so that encoding the samples
// again makes a stream that plays the same audio.
func DecodePCM(ctx context.Context, r io.Reader) (*Analysis, *PCM, error) {
	var raw []float64
	a, err := analyze(ctx, r, Options{Decode: true}, &raw)
	if err != nil {
		return a, nil, err
	}
	if !a.Decoded || a.DecodedSamples != a.Samples {
		return a, nil, fmt.Errorf("mp3: decode: %w", errUndecodable(a))
	}
	ch := a.Format.Channels
	start, end := int64(DecoderDelay), a.Samples
	if a.Gapless {
		start, end = int64(a.Delay+DecoderDelay), a.Samples-int64(a.Padding)+DecoderDelay
	}
	end = min(end, a.Samples)
	start = min(start, end)
	return a, &PCM{Rate: a.Format.SampleRate, Channels: ch, Samples: raw[start*int64(ch) : end*int64(ch)]}, nil
}

// errUndecodable explains why a stream did not decode in full.
func errUndecodable(a *Analysis) error {
	for _, p := range a.Problems {
		if p.Code == ProblemDecode || p.Code == ProblemUnsupported {
			return errors.New(p.Message)
		}
	}
	return fmt.Errorf("decoded %d of %d samples", a.DecodedSamples, a.Samples)
}

// errWAV is what ReadWAV returns for input it cannot read.
var errWAV = errors.New("mp3: not a 16-bit PCM WAV stream")

// ReadWAV reads 16-bit PCM WAV, such as espeak-ng writes to stdout. A
// streamed WAV's data chunk states a placeholder size, so the data runs to
// the end of b.
func ReadWAV(b []byte) (*PCM, error) {
	le := binary.LittleEndian
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, errWAV
	}
	var rate, channels, bits int
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(le.Uint32(b[p+4:p+8]))
		p += 8
		switch id {
		case "fmt ":
			if size < 16 || p+16 > len(b) || le.Uint16(b[p:]) != 1 {
				return nil, errWAV
			}
			channels, rate, bits = int(le.Uint16(b[p+2:])), int(le.Uint32(b[p+4:])), int(le.Uint16(b[p+14:]))
		case "data":
			if bits != 16 || channels < 1 || rate < 8000 {
				return nil, errWAV
			}
			data := b[p:min(len(b), p+size)]
			n := len(data) / 2 / channels * channels
			out := &PCM{Rate: rate, Channels: channels, Samples: make([]float64, n)}
			for i := range n {
				out.Samples[i] = float64(int16(le.Uint16(data[2*i:]))) / 32768
			}
			return out, nil
		}
		if size < 0 || size > len(b) {
			return nil, errWAV
		}
		p += size + size&1
	}
	return nil, errWAV
}

// WAV encodes the audio as a 16-bit PCM WAV file. Samples are rounded and
// clamped to full scale; a caller that must not clip limits them first.
func (p PCM) WAV() []byte {
	le := binary.LittleEndian
	n := len(p.Samples)
	var b bytes.Buffer
	b.Grow(44 + 2*n)
	b.WriteString("RIFF")
	b.Write(le.AppendUint32(nil, uint32(36+2*n)))
	b.WriteString("WAVEfmt ")
	b.Write(le.AppendUint32(nil, 16))
	b.Write(le.AppendUint16(nil, 1)) // PCM
	b.Write(le.AppendUint16(nil, uint16(p.Channels)))
	b.Write(le.AppendUint32(nil, uint32(p.Rate)))
	b.Write(le.AppendUint32(nil, uint32(2*p.Rate*p.Channels)))
	b.Write(le.AppendUint16(nil, uint16(2*p.Channels)))
	b.Write(le.AppendUint16(nil, 16))
	b.WriteString("data")
	b.Write(le.AppendUint32(nil, uint32(2*n)))
	buf := make([]byte, 2*n)
	for i, x := range p.Samples {
		s := min(max(math.Round(x*32767), -32767), 32767)
		le.PutUint16(buf[2*i:], uint16(int16(s)))
	}
	b.Write(buf)
	return b.Bytes()
}
