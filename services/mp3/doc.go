// Package mp3 reads, checks and writes MPEG audio Layer III streams without
// re-encoding them. It is shared by the synth stage, which checks each chunk
// as it arrives, and the stitch stage, which joins chunks into one file.
//
// It parses frame headers and side info of MPEG-1, MPEG-2 and MPEG-2.5
// Layer III; ID3v2 (any version, with footer), ID3v1 and APEv2 tags anywhere
// in a stream; Xing/Info, LAME and VBRI headers. It writes what a joined file
// needs: silent frames, a Xing/Info frame with a LAME tag, and an ID3v2.4 tag
// with chapters. Loudness is measured as ITU-R BS.1770-4 integrated loudness
// from PCM decoded with github.com/hajimehoshi/go-mp3, and changed losslessly
// through each granule's global_gain field.
package mp3
