package speechgen

import "time"

// Fixture is one row of the real-speech matrix: speech as some service
// delivers it.
type Fixture struct {
	Name    string
	Options Options
	// Text is what the row says: a sentence of its own, so that rows
	// sound different.
	Text string
}

// Matrix is speech as speech services deliver it, across what varies
// among them: loudness from -26 to -12 LUFS, peaks from well below full
// scale to full scale, silence of 0 to 500 ms before and after, speech cut
// off mid-sound, 24 and 22.05 kHz, ID3 tags, Xing frames present and
// absent, constant and variable bitrates. Tests render it at test time
// (Render) and run the chunk check, joins and narrations over it.
var Matrix = []Fixture{
	{"openai", Options{}, "The city council approved the budget on Tuesday, after a debate that ran past midnight and ended in a narrow vote."},
	{"quiet", Options{LUFS: -26, Peak: -8}, "Residents will pay lower fees next year, while the transport department gets four new buses for the northern routes."},
	{"loud, limited under -1 dBTP", Options{LUFS: -12, Peak: -1}, "The mayor said the plan would balance the books without cutting a single library, a promise the opposition doubted."},
	{"quiet with full-scale peaks", Options{LUFS: -24, Peak: 0}, "Teachers' unions welcomed the extra money for schools but warned that it would not cover the rising cost of heating."},
	{"at the target, peaks under -1 dBTP", Options{LUFS: -16, Peak: -1.5}, "Business groups were divided: shop owners praised the lower rates, while developers criticised the new planning fees."},
	{"half a second of silence each side", Options{LUFS: -20, Peak: -3, Lead: 500 * time.Millisecond, Trail: 500 * time.Millisecond}, "The vote followed three weeks of hearings, in which more than two hundred people spoke for or against the proposals."},
	{"no silence after", Options{NoTrail: true}, "Council officers will publish the final figures next month, once the auditors have checked the revised forecasts."},
	{"cut off mid-sound", Options{AbruptEnd: true}, "A spokesperson for the finance committee declined to say whether further savings would be needed in the spring."},
	{"VBR with Xing frame and ID3v2 tag", Options{Bitrate: -1, Xing: true, ID3: true, LUFS: -21}, "The first payments under the new scheme are expected to reach households in the second week of April."},
	{"CBR with Xing frame", Options{Xing: true, LUFS: -19, Peak: -2}, "Critics said the consultation had been rushed, and called for an independent review of the council's spending."},
	{"22.05 kHz", Options{SampleRate: 22050, Bitrate: 48}, "In the suburbs, residents' associations said they would watch closely how the money for road repairs was spent."},
	{"22.05 kHz with ID3v2 tag, quiet", Options{SampleRate: 22050, Bitrate: 48, ID3: true, LUFS: -23, Peak: -4}, "The budget now goes to the regional authority, which has until the end of the month to raise any objections."},
}

// Rows returns the rows of the matrix at one sample rate: chunks of one
// job share a format.
func Rows(sampleRate int) []Fixture {
	var out []Fixture
	for _, f := range Matrix {
		r := f.Options.SampleRate
		if r == 0 {
			r = 24000
		}
		if r == sampleRate {
			out = append(out, f)
		}
	}
	return out
}
