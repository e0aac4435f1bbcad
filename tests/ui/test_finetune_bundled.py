"""Fine-tune the bundled mnist model on a few images of your own; use it in the Image tab."""
import numpy as np
from PIL import Image, ImageDraw

from app.core.checkpoint import load_bundle
from app.core.paths import bundled_models_dir
from app.core.training.jobs import job_for_folder
from app.core.training.runner import FinalReport, run_job
from app.core.training.trainer import evaluate


def draw_ones(folder, count=12):
    """Thick slanted strokes in a '1' class folder: like nothing mnist has seen exactly."""
    (folder / "1").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        image = Image.new("L", (56, 56), 0)
        x = 20 + int(rng.integers(0, 16))
        ImageDraw.Draw(image).line([(x, 8), (x + 8, 48)], fill=255, width=7)
        image.save(folder / "1" / f"{i}.png")


def test_fine_tuning_mnist_lowers_the_loss_on_my_images(window, qtbot, tmp_path):
    draw_ones(tmp_path / "mine")
    job = job_for_folder("pixelcnn", tmp_path / "mine", init_from=str(bundled_models_dir() /
                                                                      "mnist.safetensors"),
                         name="my-ones", out=str(tmp_path / "my-ones.safetensors"))
    assert set(job.data.train.labels.tolist()) == {1}     # folder "1" is mnist's class 1
    before = evaluate(job.init_from.net, job.data.train, 4, "cpu")
    job.settings.steps, job.settings.batch_size, job.settings.eval_every = 8, 4, 8
    job.settings.lr = 5e-4
    report = [e for e in run_job(job) if isinstance(e, FinalReport)][0]
    tuned = load_bundle(report.path)
    after = evaluate(tuned.net, job.data.train, 4, "cpu")
    assert after < before, (before, after)
    assert tuned.codec.class_names == [str(i) for i in range(10)]
    window.open_path(report.path)
    tab = window.image_tab
    assert window.current_tab() is tab and tab.picker.current().name == "my-ones"
    tab.grid.setValue(1)
    tab.generate()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    assert "Done" in tab.stats.text()
