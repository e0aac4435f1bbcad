"""Compile the numba kernels ahead of first use (on a tiny model), e.g. while a window opens.

numba compiles on the first call (seconds) and caches the result on disk, so only the
first start on a machine pays; without this the first Generate would stall instead.
"""
from __future__ import annotations


def warm_up() -> bool:
    """Compile every kernel; returns False when numba is not installed (nothing to do)."""
    import itertools

    import numpy as np
    import torch

    from ..codecs import ImageCodec, MuLawCodec
    from ..config import GPTConfig, LSTMConfig, PixelCNNConfig, WaveNetConfig
    from ..nets.charlm import CharGPT, CharLSTM
    from ..nets.pixelcnn import GatedPixelCNN
    from ..nets.wavenet import WaveNet
    from ..sampling.audio import sample_audio
    from ..sampling.image import sample_images
    from . import draw_numba, gpt_numba, wavenet_numba
    from .lstm_fused import FusedLSTM
    from .pixelcnn_numba import BLAS_BATCH

    if not wavenet_numba.available():
        return False
    with torch.no_grad():
        pixel = GatedPixelCNN(PixelCNNConfig(height=2, width=2, hidden=4, layers=1,
                                             output_hidden=4, levels=4)).eval()
        # Four images: the batch path (BLAS products) as well as the single-image loops.
        for n in (1, BLAS_BATCH):
            for _ in itertools.islice(sample_images(pixel, ImageCodec(2, 2, 1, 4), n, seed=0),
                                      1):
                pass
        wave = WaveNet(WaveNetConfig(levels=4, residual=2, dilation_channels=2, skip=2,
                                     output_hidden=2, dilations=[1])).eval()
        for _ in sample_audio(wave, MuLawCodec(8000, 4), 2, seed=0, prime=np.array([0.0, 0.1])):
            pass
        gpt = CharGPT(GPTConfig(vocab_size=2, context=2, embed=2, heads=1, layers=1)).eval()
        gpt_numba.CompiledGPT(gpt, 1).step(torch.zeros(1, dtype=torch.long))
        lstm = CharLSTM(LSTMConfig(vocab_size=2, embed=2, hidden=2, layers=1)).eval()
        FusedLSTM(lstm, 1, torch.device("cpu"), int8=True).step(torch.zeros(1, dtype=torch.long))
        draw_numba.draw(torch.zeros(1, 2), torch.Generator(), 1.0)
    return True
