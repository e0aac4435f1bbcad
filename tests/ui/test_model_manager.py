"""The model manager: cards for bundled and own models, rename, delete and import of the
user's own, every tab's model list following, bundled models kept as they ship."""
import pytest

from app.core.model_manager import (
    ModelManagerError,
    card_rows,
    import_model,
    model_entries,
    rename_model,
)
from tests.conftest import make_bundle


def _select(dialog, name):
    for row in range(dialog.list.count()):
        if dialog.list.item(row).data(256).name == name:
            dialog.list.setCurrentRow(row)
            return
    raise AssertionError(f"{name} not listed")


def test_cards_say_what_each_model_is(window, save_tiny):
    dialog = window.manage_models()
    names = [dialog.list.item(r).data(256).name for r in range(dialog.list.count())]
    assert {"digits", "voice", "bard"} <= set(names)
    _select(dialog, "digits")
    rows = dict(card_rows(dialog.current()))
    assert rows["Kind"].startswith("Gated PixelCNN") and "16x16x1" in rows["Draws"]
    assert "yours" in rows["Origin"] and "MB" in rows["File"]
    assert dialog.card_form.rowCount() == len(card_rows(dialog.current()))
    assert dialog.rename_button.isEnabled() and dialog.delete_button.isEnabled()
    dialog.close()


def test_rename_delete_and_import_follow_into_every_tab(window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    dialog = window.manage_models()
    _select(dialog, "digits")
    dialog.rename_selected("my digits")
    assert "Renamed digits to my digits" in dialog.message.text()
    picker = window.image_tab.picker
    assert [picker.itemData(i).name for i in range(picker.count())] == ["my digits"]
    dialog.rename_selected("bard")                       # another of the user's models
    assert "already the name of another of your models" in dialog.message.text()
    dialog.rename_selected("a/b")
    assert "plain file name" in dialog.message.text()
    # Delete asks first; No keeps the model.
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a: QMessageBox.StandardButton.No)
    dialog.delete_selected()
    assert picker.count() == 1
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a: QMessageBox.StandardButton.Yes)
    dialog.delete_selected()
    assert picker.count() == 0 and "Deleted my digits" in dialog.message.text()
    # Import a checkpoint from elsewhere: it is copied in, under a free name.
    from app.core.checkpoint import save_bundle

    net, codec = make_bundle("pixelcnn")
    outside = save_bundle(tmp_path / "bard.safetensors", net, codec, {"description": "x"})
    dialog.import_dialog(str(outside))
    assert "Imported as bard-2" in dialog.message.text() and outside.exists()
    assert [picker.itemData(i).name for i in range(picker.count())] == ["bard-2"]
    junk = tmp_path / "weights.pt"
    junk.write_bytes(b"PK\x03\x04 not a checkpoint")
    dialog.import_dialog(str(junk))
    assert "Not imported" in dialog.message.text() and "chainrule import" in \
        dialog.message.text()
    dialog.close()


def test_bundled_models_cannot_be_renamed_or_deleted(tmp_path, monkeypatch):
    from app.core import paths
    from app.core.checkpoint import save_bundle

    bundled = tmp_path / "bundled"
    bundled.mkdir()
    net, codec = make_bundle("charlm-lstm")
    save_bundle(bundled / "shipped.safetensors", net, codec, {"description": "ships"})
    monkeypatch.setattr(paths, "bundled_models_dir", lambda: bundled)
    (entry,) = [e for e in model_entries() if e.name == "shipped"]
    assert not entry.own
    with pytest.raises(ModelManagerError, match="bundled"):
        rename_model(entry, "other")
    # An import may not take a bundled model's name either: it gets a free one.
    copy = import_model(bundled / "shipped.safetensors")
    assert copy.stem == "shipped-2" and (bundled / "shipped.safetensors").exists()


def test_an_unreadable_model_is_listed_with_its_problem(window, tiny_models):
    (tiny_models / "broken.safetensors").write_bytes(b"\x00" * 16)
    dialog = window.manage_models()
    _select(dialog, "broken")
    rows = dict(card_rows(dialog.current()))
    assert "Problem" in rows and not dialog.open_button.isEnabled()
    assert dialog.delete_button.isEnabled()                 # it can still be cleared away
    dialog.close()
