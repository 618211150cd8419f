"""Functional simulation: a real pretrained transformer run through the crossbar behavioral models.

* :mod:`.checkpoint` — a BERT-family Hugging Face checkpoint directory read with numpy, safetensors
  and tokenizers (no torch); ``minilm`` is the shipped all-MiniLM-L6-v2.
* :mod:`.bert` — the forward pass with sentence-embedding pooling, every matrix product routed
  through an executor.
* :mod:`.quant` — INT8 quantization (per-output-channel weights, per-tensor static activations).
* :mod:`.engine` — executors: float, INT8 digital, and the crossbar (explicit and fast statistical).
* :mod:`.accuracy` — metrics, the accuracy budget, sweeps and reports.
"""
