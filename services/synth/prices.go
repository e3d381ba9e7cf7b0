package synth

import "maps"

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
