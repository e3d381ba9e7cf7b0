package synth

import (
	"maps"
	"math"
)

// Prices returns each provider's price list: US dollars per million billed
// characters, by model (Polly: by engine), for estimates made without
// building a provider or holding its credentials.
func Prices() map[string]map[string]float64 {
	return map[string]map[string]float64{
		"openai": maps.Clone(openAIModels),
		"polly":  maps.Clone(pollyEngines),
		"local":  {LocalModel: 0},
	}
}

// DefaultModel returns the model (Polly: engine) a provider uses when a
// request names none.
func DefaultModel(provider string) string {
	return map[string]string{"openai": "tts-1", "polly": "neural", "local": LocalModel}[provider]
}

// ListenPrices returns OpenAI's transcription prices: US dollars a minute
// of audio, by model.
func ListenPrices() map[string]float64 { return maps.Clone(openAIListenModels) }

// DefaultListenModel is the transcription model a listener uses when
// configured with none.
const DefaultListenModel = "whisper-1"

// ListenUSD is what seconds of recognition cost at perMinute US dollars a
// minute of audio.
func ListenUSD(seconds int, perMinute float64) float64 { return float64(seconds) / 60 * perMinute }

// SpeechCharsPerSecond is the speaking rate estimates assume: about 160
// words a minute, OpenAI's and Polly's voices at speed 1.
const SpeechCharsPerSecond = 15.0

// EstimateHeard returns the seconds of audio chars characters of one
// chunk make at SpeechCharsPerSecond, rounded up as recognition bills
// each request.
func EstimateHeard(chars int) int {
	return int(math.Ceil(float64(chars) / SpeechCharsPerSecond))
}
