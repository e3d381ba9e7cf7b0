// Package c2pa writes and checks C2PA Content Credentials for narrated MP3s:
// a manifest store (JUMBF boxes holding CBOR and JSON assertions, a v2
// claim and its COSE_Sign1 signature) that says, in a form other tools read,
// that the audio was made by a speech model from an article, and binds that
// statement to every byte of the file but its own.
//
// The manifest store rides in the MP3's ID3v2 tag as a GEOB object of type
// application/c2pa, at the start of the file and before the audio it covers.
// Its size is fixed before the audio is written (Prepare) and it is filled
// in once the file's hash is known (Seal), so that the stitcher still writes
// the file in one pass and only patches the reserved bytes at the end.
package c2pa
