"""The discretized logistic mixture head (PixelCNN++'s output, an option for the PixelCNN):
exact probabilities of every level, stable in the tails, and the same draws on every path."""
import numpy as np
import pytest
import torch

from app.core.checkpoint import load_bundle, save_bundle
from app.core.config import ConfigError, PixelCNNConfig
from app.core.nets.logistic_mixture import mixture_log_probs
from app.core.sampling.image import generate_images
from tests.conftest import make_bundle


def brute_force(params: torch.Tensor, levels: int) -> torch.Tensor:
    """p of each level from the mixture's CDF at the bin edges, in float64 (the tails as the
    mass beyond the first and last edges): the definition, computed the plain way."""
    logits, means, log_scales = params.double().chunk(3, dim=-1)
    weights = logits.softmax(-1)
    scales = log_scales.clamp(min=-7).exp()
    centres = torch.linspace(-1, 1, levels, dtype=torch.float64)
    half = 1.0 / (levels - 1)
    cdf = lambda x: torch.sigmoid((x - means[..., None]) / scales[..., None])
    upper = torch.where(centres < 1 - half / 2, cdf(centres + half), torch.ones(1).double())
    lower = torch.where(centres > -1 + half / 2, cdf(centres - half), torch.zeros(1).double())
    return ((upper - lower) * weights[..., None]).sum(-2)


@pytest.mark.parametrize("levels", [2, 8, 256])
def test_the_levels_probabilities_are_the_mixtures_bins_and_sum_to_one(levels):
    gen = torch.Generator().manual_seed(0)
    params = torch.randn(50, 3 * 4, generator=gen)
    params[:, 8:] = params[:, 8:] * 2 - 2                 # scales from e^-6 to about 1
    logp = mixture_log_probs(params, levels)
    assert logp.shape == (50, levels)
    expected = brute_force(params, levels)
    assert torch.allclose(logp.double().exp(), expected, atol=1e-5)
    assert torch.allclose(logp.exp().sum(-1), torch.ones(50), atol=1e-5)


def test_far_tails_stay_finite_where_a_difference_of_sigmoids_rounds_to_zero():
    # One sharp component at the bottom: the top levels are ~1e-300 likely, far below float32.
    params = torch.tensor([[0.0, -1.0, -7.0]])
    logp = mixture_log_probs(params, 256)
    assert torch.isfinite(logp).all()
    assert logp[0, 0].exp() > 0.98                            # nearly all mass on level 0
    assert (logp[0, 1:].diff() < 0).all()                     # and less the further away
    # Gradients through the far tail are finite too (the training loss reaches them).
    params.requires_grad_(True)
    mixture_log_probs(params, 256)[0, 255].backward()
    assert torch.isfinite(params.grad).all()


def test_a_sharp_component_puts_its_mass_on_the_level_of_its_mean():
    levels = 16
    for level in (0, 5, 15):
        mean = 2 * level / (levels - 1) - 1
        params = torch.tensor([[0.0, mean, -6.0]])
        assert mixture_log_probs(params, levels).argmax().item() == level


def test_the_mixture_is_a_checked_setting_kept_in_the_file(tmp_path):
    with pytest.raises(ConfigError, match="mixture"):
        PixelCNNConfig(mixture=-1).validate()
    with pytest.raises(ConfigError, match="mixture"):
        PixelCNNConfig(mixture=1000).validate()
    net, codec = make_bundle("pixelcnn", mixture=3)
    assert net.out2.out_channels == 9                         # 3 weights, means, scales
    path = save_bundle(tmp_path / "m.safetensors", net, codec, {})
    bundle = load_bundle(path)
    assert bundle.config.mixture == 3
    x = torch.randint(0, net.config.levels, (2, 1, 6, 5))
    with torch.no_grad():
        assert torch.equal(net(x), bundle.net(x))


def test_a_mixture_nets_likelihood_is_the_sum_of_its_levels_log_probs():
    net, _ = make_bundle("pixelcnn", mixture=2)
    x = torch.randint(0, net.config.levels, (3, 1, 6, 5))
    with torch.no_grad():
        logp = net(x)
        nll = net.nll({"x": x})
    assert torch.allclose(logp.exp().sum(1), torch.ones(3, 1, 6, 5), atol=1e-5)
    picked = logp.gather(1, x[:, None]).squeeze(1)
    assert torch.allclose(nll, -picked.flatten(1).mean(1), atol=1e-5)


@pytest.mark.parametrize("guidance", [1.0, 2.0])
def test_a_mixture_net_draws_the_same_images_cached_and_naive(guidance):
    net, codec = make_bundle("pixelcnn", channels=3, hidden=12, num_classes=2, mixture=3)
    kw = dict(labels=[0, 1], seed=4, temperature=0.9, guidance=guidance)
    cached = generate_images(net, codec, 2, **kw)
    naive = generate_images(net, codec, 2, naive=True, **kw)
    assert np.array_equal(cached.levels, naive.levels)


@pytest.mark.parametrize("n", [1, 5])         # the kernel's loops, and its BLAS products
def test_the_compiled_path_draws_a_mixture_nets_images_as_pytorch_does(n, monkeypatch):
    from app.core.fast import pixelcnn_numba

    if not pixelcnn_numba.available():
        pytest.skip("numba not installed")
    net, codec = make_bundle("pixelcnn", channels=3, hidden=12, num_classes=2, mixture=3)
    assert pixelcnn_numba.compiles(net)
    labels = [i % 2 for i in range(n)]
    runs = [generate_images(net, codec, n, labels=labels, seed=7, temperature=0.8,
                            guidance=2.0, compiled=compiled).levels
            for compiled in (True, False)]
    assert np.array_equal(runs[0], runs[1])
