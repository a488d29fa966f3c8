"""gptcore: pretrain, sample and checkpoint GPT-style models on tokenkit vocabularies."""
