package publish

import (
	"encoding/json"

	"github.com/narrator-project/narrator/services/mp3"
)

// ChaptersType is the media type of Podcasting 2.0 JSON chapters.
const ChaptersType = "application/json+chapters"

// chaptersFile is the Podcasting 2.0 JSON chapters format, version 1.2.
type chaptersFile struct {
	Version     string         `json:"version"`
	Title       string         `json:"title,omitempty"`
	Author      string         `json:"author,omitempty"`
	PodcastName string         `json:"podcastName,omitempty"`
	FileName    string         `json:"fileName,omitempty"`
	Chapters    []chapterEntry `json:"chapters"`
}

type chapterEntry struct {
	StartTime Seconds `json:"startTime"`
	EndTime   Seconds `json:"endTime,omitempty"`
	Title     string  `json:"title"`
}

// chapters converts the chapters stitch wrote into the MP3's tag.
func chapters(cs []mp3.Chapter) []Chapter {
	out := make([]Chapter, 0, len(cs))
	for _, c := range cs {
		out = append(out, Chapter{Title: oneLine(c.Title), Start: secs(c.Start), End: secs(c.End)})
	}
	return out
}

// chaptersJSON encodes the chapters file of a manifest.
func chaptersJSON(m *Manifest, podcast, fileName string) ([]byte, error) {
	f := chaptersFile{Version: "1.2.0", Title: m.Title, Author: m.Author, PodcastName: podcast, FileName: fileName, Chapters: []chapterEntry{}}
	for _, c := range m.Chapters {
		f.Chapters = append(f.Chapters, chapterEntry{StartTime: c.Start, EndTime: c.End, Title: c.Title})
	}
	return json.MarshalIndent(f, "", "  ")
}
