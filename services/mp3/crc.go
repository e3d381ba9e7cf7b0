package mp3

// Two CRC-16s meet in an MP3 file. Frames with the protection bit clear
// carry the MPEG audio CRC (polynomial 0x8005, initial value 0xFFFF, most
// significant bit first) over the header's last two bytes and the side info.
// The LAME tag carries CRC-16/ARC (the same polynomial, reflected, initial
// value 0) over its frame's first 190 bytes and over the audio.

var arcTable = func() (t [16][256]uint16) {
	for i := range 256 {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
		t[0][i] = c
	}
	for i := range 256 {
		c := t[0][i]
		for k := 1; k < 16; k++ {
			c = t[0][c&0xFF] ^ c>>8
			t[k][i] = c
		}
	}
	return t
}()

// crcARC updates a CRC-16/ARC with b, sixteen bytes at a time where it
// can, since the audio CRC runs over every byte of a joined file.
func crcARC(crc uint16, b []byte) uint16 {
	t := &arcTable
	for len(b) >= 16 {
		c := crc ^ uint16(b[0]) ^ uint16(b[1])<<8
		crc = t[15][c&0xFF] ^ t[14][c>>8] ^ t[13][b[2]] ^ t[12][b[3]] ^
			t[11][b[4]] ^ t[10][b[5]] ^ t[9][b[6]] ^ t[8][b[7]] ^
			t[7][b[8]] ^ t[6][b[9]] ^ t[5][b[10]] ^ t[4][b[11]] ^
			t[3][b[12]] ^ t[2][b[13]] ^ t[1][b[14]] ^ t[0][b[15]]
		b = b[16:]
	}
	for _, x := range b {
		crc = t[0][byte(crc)^x] ^ crc>>8
	}
	return crc
}

func frameCRC(header2 []byte, sideInfo []byte) uint16 {
	crc := uint16(0xFFFF)
	update := func(b []byte) {
		for _, x := range b {
			crc ^= uint16(x) << 8
			for range 8 {
				if crc&0x8000 != 0 {
					crc = crc<<1 ^ 0x8005
				} else {
					crc <<= 1
				}
			}
		}
	}
	update(header2)
	update(sideInfo)
	return crc
}
