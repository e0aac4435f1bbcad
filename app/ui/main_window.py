"""The main window: tabs, menus, status bar with the compute device, drag and drop."""
from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QTabWidget,
)

from ..core.errors import failure_reason
from ..core.media import IMAGE_SUFFIXES
from ..core.model_cache import ModelCache
from ..core.paths import resources_dir, user_models_dir
from .settings_file import ask_save_path, remember_save_folder, settings_store
from .tabs.audio_tab import AudioTab
from .tabs.image_tab import ImageTab
from .tabs.text_tab import TextTab
from .tabs.train_tab import TrainTab
from .theme import THEMES, apply_theme
from .wheel_guard import guard_wheels
from .widgets.history_panel import HistoryPanel
from .window_help import HelpMenu
from .workers import WorkerRunner

# Saved results reopen in their tab; any other image opens in the Image tab to inpaint.
RESULT_TABS = {**{suffix: "image" for suffix in IMAGE_SUFFIXES},
               ".png": "image", ".wav": "audio", ".txt": "text"}


def torch_loading():
    """Runs in a worker thread: import torch (1-3 s), report the compute devices, then
    compile the fast samplers, rather than on the first Generate."""
    from ..core.devices import available_devices, describe_device
    from ..core.fast.warmup import warm_up

    devices = available_devices()
    yield devices, describe_device(devices[0])
    warm_up()


class MainWindow(HelpMenu, QMainWindow):
    def __init__(self, theme: str = "system"):
        super().__init__()
        self.setWindowTitle("chainrule")
        self.setWindowIcon(QIcon(str(resources_dir() / "icons" / "org.chainrule.Chainrule.svg")))
        self.setAcceptDrops(True)
        self.models = ModelCache()
        self.device = "cpu"
        self.theme = theme
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.image_tab = ImageTab(self.models, self.current_device)
        self.audio_tab = AudioTab(self.models, self.current_device)
        self.text_tab = TextTab(self.models, self.current_device)
        for tab, title in ((self.image_tab, "Image"), (self.audio_tab, "Audio"),
                           (self.text_tab, "Text")):
            self.tabs.addTab(tab, title)
            tab.status_changed.connect(functools.partial(self._tab_status, tab))
            tab.save_requested.connect(self.save_as)
        self.train_tab = TrainTab(self.models, self.current_device)
        self.tabs.addTab(self.train_tab, "Train")
        self.train_tab.status_changed.connect(functools.partial(self._tab_status,
                                                                self.train_tab))
        self.train_tab.model_ready.connect(self.model_trained)
        self.setCentralWidget(self.tabs)
        self._build_history()
        self._build_status_bar()
        for tab in self.generating_tabs():
            tab.picker.model_changed.connect(lambda _info: self._show_model())
        self.train_tab.start.currentIndexChanged.connect(lambda _index: self._show_model())
        self.tabs.currentChanged.connect(lambda _index: self._show_model())
        self.tabs.currentChanged.connect(lambda _index: self._show_tab_status())
        self._build_menus()
        self.wheel_guard = guard_wheels(self)    # every control exists by now
        # Wide enough for the Image tab, its views and the History panel side by side.
        self.resize(1240, 720)
        self._show_model()
        # torch loads through the same worker pattern as every run (app/ui/workers.py).
        self.loader = WorkerRunner(self)

    def current_device(self) -> str:
        return self.device

    def start_loading(self) -> None:
        """Import torch off the GUI thread; the device list fills in when it is ready."""
        self.loader.stopped.connect(self._loaded)
        self.loader.start(torch_loading, lambda events: self._devices_ready(*events[0]))

    @staticmethod
    def _loaded(_how: str) -> None:
        """torch, numba and the compiled samplers are in: millions of objects that live as
        long as the app. Freezing them keeps the garbage collector's full passes from
        scanning them all again (each pass held the GUI for up to 0.2 s)."""
        import gc

        gc.collect()
        gc.freeze()

    def _tab_status(self, tab, text: str) -> None:
        """Each tab owns its status line; the bar shows the visible tab's."""
        if tab is self.current_tab():
            self.statusBar().showMessage(text)

    def _show_tab_status(self) -> None:
        self.statusBar().showMessage(getattr(self.current_tab(), "status_text", "") or "Ready")

    def generating_tabs(self):
        return (self.image_tab, self.audio_tab, self.text_tab)

    def tab_widgets(self):
        return (*self.generating_tabs(), self.train_tab)

    def current_tab(self):
        return self.tabs.currentWidget()

    def model_trained(self, path: str) -> None:
        """A new or updated model: every model list shows it at once, for the user to pick;
        no tab's choice changes by itself."""
        self.refresh_model_lists()
        self.statusBar().showMessage(f"New model ready: {Path(path).stem}", 8000)

    def refresh_model_lists(self) -> None:
        from .widgets.controls import ModelPicker

        for tab in self.generating_tabs():
            pickers = {id(p): p for p in (tab.picker, *tab.findChildren(ModelPicker))}
            for picker in pickers.values():
                picker.refresh()
        self.train_tab.refresh_starts()

    def manage_models(self):
        from .model_manager import ModelManager

        dialog = ModelManager(self)
        dialog.models_changed.connect(self.refresh_model_lists)
        dialog.open_requested.connect(self.open_path)
        dialog.open()
        return dialog

    # --- building -----------------------------------------------------------------------
    def _build_history(self) -> None:
        from ..core.history import DEFAULT_LIMIT_MB, History

        megabytes = int(settings_store().value("history/limit_mb", DEFAULT_LIMIT_MB))
        self.history_panel = HistoryPanel(History(limit_bytes=max(1, megabytes) << 20), self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.history_panel)
        self.history_panel.open_requested.connect(self.open_path)
        self.history_panel.limit_changed.connect(
            lambda mb: settings_store().setValue("history/limit_mb", mb))
        for tab in self.generating_tabs():
            tab.result_ready.connect(functools.partial(self.history_panel.record, tab))

    def _show_model(self) -> None:
        tab = self.current_tab()
        if tab is self.train_tab:
            self.model_label.setText(tab.start.currentText())
            self.model_label.setToolTip("")
            return
        info = tab.picker.current()
        self.model_label.setText(f"Model: {info.name}" if info else "No model")
        self.model_label.setToolTip(str(info.path) if info else "")

    def _build_status_bar(self) -> None:
        self.model_label = QLabel()
        self.statusBar().addPermanentWidget(self.model_label)
        self.device_label = QLabel("Device:")
        self.device_picker = QComboBox()
        self.device_picker.addItem("loading torch\u2026", "cpu")
        self.device_picker.setEnabled(False)
        self.device_picker.setToolTip("Where the models run")
        self.device_picker.currentIndexChanged.connect(self._device_chosen)
        self.statusBar().addPermanentWidget(self.device_label)
        self.statusBar().addPermanentWidget(self.device_picker)
        self.statusBar().showMessage("Ready")

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open\u2026", self.open_dialog, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Open &checkpoint\u2026", self.open_checkpoint_dialog)
        self._action(file_menu, "&Save", self.save, QKeySequence.StandardKey.Save)
        self._action(file_menu, "Save &as\u2026", self.save_as, QKeySequence.StandardKey.SaveAs)
        file_menu.addSeparator()
        self._action(file_menu, "Manage &models\u2026", self.manage_models,
                     QKeySequence("Ctrl+M"))
        self._action(file_menu, "Show my models &folder", self.show_models_folder)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view = self.menuBar().addMenu("&View")
        theme_menu = view.addMenu("&Theme")
        self.theme_actions = {}
        for name in THEMES:
            action = self._action(theme_menu, name.capitalize(),
                                  lambda checked=False, n=name: self.set_theme(n))
            action.setCheckable(True)
            self.theme_actions[name] = action
        history = self.history_panel.toggleViewAction()
        history.setText("&History")
        history.setShortcut(QKeySequence("Ctrl+H"))
        view.addAction(history)
        self.build_help_menu(self.menuBar().addMenu("&Help"))

    def _action(self, menu, text, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # --- devices ------------------------------------------------------------------------
    def _devices_ready(self, devices: list, description: str) -> None:
        from ..core.devices import describe_device

        self.device_picker.blockSignals(True)
        self.device_picker.clear()
        for device in devices:
            self.device_picker.addItem(describe_device(device), device)
        self.device_picker.setEnabled(len(devices) > 1)
        self.device_picker.blockSignals(False)
        self.device = devices[0]
        self.train_tab.set_devices([(describe_device(d), d) for d in devices])

    def _device_chosen(self, index: int) -> None:
        device = self.device_picker.itemData(index)
        if device and device != self.device:
            self.device = device
            self.statusBar().showMessage(f"Models now run on {self.device_picker.currentText()}")

    # --- files --------------------------------------------------------------------------
    def open_dialog(self) -> None:
        # Starts where the last file was opened, as Save starts where the last was saved.
        folder = settings_store().value("last_open_dir", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(
            self, "Open", str(folder),
            "chainrule files (*.safetensors *.png *.jpg *.jpeg *.wav *.txt);;All files (*)")
        if path:
            settings_store().setValue("last_open_dir", str(Path(path).parent))
            self.open_path(path)

    def open_checkpoint_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", str(user_models_dir()),
                                              "Checkpoints (*.safetensors);;All files (*)")
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> None:
        """A checkpoint goes to the tab of its kind; a saved result restores its tab."""
        from ..core.checkpoint import CheckpointError
        from ..core.registry import KINDS
        from .widgets.controls import model_info

        suffix = Path(path).suffix.lower()
        if suffix in RESULT_TABS:
            tab = {"image": self.image_tab, "audio": self.audio_tab,
                   "text": self.text_tab}[RESULT_TABS[suffix]]
            self.tabs.setCurrentWidget(tab)
            try:
                tab.open_result(path)
            except Exception as err:   # any unreadable file: say so, keep going
                tab.message.show_message(f"{path}: cannot open ({err})")
            tab.refresh_actions()
            return
        try:
            info = model_info(path)
            modality = KINDS[info.kind].modality if info.kind in KINDS else None
        except CheckpointError as err:
            self.current_tab().message.show_message(str(err))
            return
        tab = {"image": self.image_tab, "audio": self.audio_tab,
               "text": self.text_tab}.get(modality, self.current_tab())
        self.tabs.setCurrentWidget(tab)
        if modality is not None:
            # The header looked fine; the weights are checked now (shapes, dtypes, values), so
            # a damaged file is refused here and the model chosen before stays chosen. The
            # net stays in the cache, so Generate does not load it again.
            try:
                self.models.get(path, self.device)
            except CheckpointError as err:
                tab.message.show_message(str(err))
                return
            except Exception as err:     # e.g. out of memory on the device: say so, keep going
                tab.message.show_message(f"{path}: cannot load ({err})")
                return
        tab.open_checkpoint(path)

    def save(self) -> None:
        tab = self.current_tab()
        if not tab.has_result():
            self.statusBar().showMessage("Nothing to save yet: generate something first", 4000)
            return
        self.save_as()

    def save_as(self) -> None:
        tab = self.current_tab()
        if not tab.has_result():
            return
        path = ask_save_path(self, "Save", tab.default_save_name(), tab.save_filter)
        if not path:
            return
        try:
            tab.save_result(path)
            remember_save_folder(path)
            self.statusBar().showMessage(f"Saved {path}", 5000)
        except OSError as err:
            tab.message.show_message(f"Could not save {path}: {failure_reason(err)}")

    def show_models_folder(self) -> None:
        user_models_dir().mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(user_models_dir())))

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())

    # --- look ---------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        self.theme = name
        apply_theme(QApplication.instance(), name)
        for key, action in self.theme_actions.items():
            action.setChecked(key == name)

    # --- settings and shutdown ----------------------------------------------------------
    def restore(self) -> None:
        settings = settings_store()
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        self.tabs.setCurrentIndex(int(settings.value("window/tab", 0)))
        self.set_theme(str(settings.value("window/theme", self.theme)))
        for tab in self.generating_tabs():
            tab.restore_settings(settings)

    def save_settings(self) -> None:
        settings = settings_store()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        settings.setValue("window/tab", self.tabs.currentIndex())
        settings.setValue("window/theme", self.theme)
        for tab in self.generating_tabs():
            tab.save_settings(settings)
        settings.sync()

    def closeEvent(self, event) -> None:
        self.save_settings()
        for tab in self.generating_tabs():
            tab.shutdown()
        self.train_tab.shutdown()       # a running training saves its resumable state
        self.loader.shutdown()
        event.accept()
