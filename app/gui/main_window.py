"""The main window: the library on the left (drop folders anywhere), asking on the right."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QMetaObject, QSettings, Qt, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (QApplication, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QProgressBar,
                               QPushButton, QSplitter, QWidget)

from ..config import load_config, update_config_file
from ..core.answer import Citation
from ..core.ingest import IngestProgress, IngestSummary
from ..core.library import LibraryBusyError
from ..core.service import IpponService
from ..core.store import source_id_for
from ..core.unindexed import unindexed_files
from ..errors import user_message
from .ask_panel import AskPanel
from .models_status import ModelsStatus
from .asking import AskController
from .global_hotkey import GlobalHotkey
from .icon import app_icon
from .models_dialog import ModelsDialog
from .quick_ask import QuickAskWindow
from .serve_switch import ServeControl
from .settings_dialog import SettingsDialog
from .sources_panel import SourcesPanel
from .tasks import Op, TaskRunner
from .theme import apply_appearance, load_appearance, save_appearance
from .tray import TrayController
from .citations import open_at_page
from .thread_session import ThreadSession
from .threads_panel import ThreadsPanel

QUICK_ASK_SHORTCUT = "Ctrl+Shift+Space"


class MainWindow(QMainWindow):
    ingest_finished = Signal(object)  # IngestSummary, or the exception
    sources_listed = Signal()  # the library panel shows the library as it now is

    def __init__(self, service: IpponService, *, settings: QSettings | None = None) -> None:
        super().__init__()
        self.service = service
        self.settings = settings or QSettings("Ippon", "Ippon")
        self.runner = TaskRunner(self)
        self.serve_control = ServeControl(service, self)  # the settings' local API switch
        apply_appearance(QApplication.instance(), load_appearance(self.settings))
        self.setWindowTitle("Ippon 一本")
        self.setAcceptDrops(True)
        self._ingest: Op | None = None
        self._ingest_result: object = None
        self._watch_stop: threading.Event | None = None
        self._quitting = False
        self._embedder = service.config.embedder  # the one the library's vectors were last made with here

        self.controller = AskController(service, self.runner, self)
        self.sources_panel = SourcesPanel()
        self.ask_panel = AskPanel(self.controller, page_text=self._page_text, thumbnail=self._thumbnail)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.sources_panel)
        split.addWidget(self.ask_panel)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        self.setCentralWidget(split)
        self.threads_panel = ThreadsPanel()  # conversations beside the library; the splitter can fold it away
        split.insertWidget(0, self.threads_panel)
        split.setCollapsible(0, True)
        self.thread_session = ThreadSession(service=lambda: self.service, panel=self.threads_panel,
                                            ask_panel=self.ask_panel, actions=self.ask_panel.actions, parent=self)
        self.quick_ask = QuickAskWindow(AskController(service, self.runner, self))

        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress_label = QLabel()
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(self.cancel_ingest)
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.progress_label, self.progress, self.cancel_button):
            row.addWidget(widget)
        self.statusBar().addPermanentWidget(box)
        self.models_status = ModelsStatus()
        self.statusBar().addPermanentWidget(self.models_status)
        self._show_progress(False)

        self.sources_panel.add_requested.connect(self.choose_and_add)
        self.sources_panel.remove_requested.connect(self.remove_paths)
        self.sources_panel.watch_toggled.connect(self.set_watching)
        self.ask_panel.open_requested.connect(self.open_source)
        self.ask_panel.models_requested.connect(self.show_models)
        self.ask_panel.add_requested.connect(self.choose_and_add)
        self.quick_ask.open_requested.connect(self.open_source)
        self.quick_ask.link_requested.connect(lambda link: self._follow_link(link))
        self.quick_ask.citation_clicked.connect(self._show_quick_citation)
        self.quick_ask.controller.turn.connect(lambda _turn: self.thread_session.refresh())  # its threads listed too
        self.models_status.clicked.connect(self.show_models)
        self._build_menus()
        self.setWindowIcon(app_icon())
        self.tray = TrayController(self.windowIcon(), self)
        self.tray.quick_ask.connect(self.quick_ask.show_and_focus)
        self.tray.show_window.connect(self.bring_forward)
        self.tray.quit_requested.connect(self.quit_app)
        self.tray.no_tray.connect(lambda message: self.statusBar().showMessage(message, 15000))
        self.tray.announce_fallback(self.settings)
        # Ctrl+Shift+Space from any app, where the desktop allows it (else only while Ippon is active).
        self.global_hotkey = GlobalHotkey(self)
        self.global_hotkey.pressed.connect(self.quick_ask.show_and_focus)
        self.global_hotkey.start()
        if self.tray.available:
            QApplication.setQuitOnLastWindowClosed(False)  # closing the window leaves Ippon in the tray
        self._restore_geometry()
        self.models_dialog: ModelsDialog | None = None
        self.refresh_sources()
        self.models_status.show_models(self.service.config)
        self.upgrade_index()

    def first_run(self) -> None:
        """With no models at all, open the model picker; search by keywords works meanwhile."""
        config = self.service.config
        if not (config.llm or config.embedder or config.reranker or self.service.installed_models()):
            self.show_models()
            self.statusBar().showMessage(self.tr("No models yet: keyword search works; choose models to ask."), 20000)

    def show_models(self) -> None:
        if self.models_dialog is None:
            self.models_dialog = ModelsDialog(self.service, self.runner, self)
            self.models_dialog.changed.connect(self.reload_service)
        self.models_dialog.show()
        self.models_dialog.raise_()

    # --- menus ----------------------------------------------------------------------------------

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu(self.tr("&File"))
        self._action(file_menu, self.tr("New conversation"), self.thread_session.new_thread,
                     QKeySequence.StandardKey.New)
        self._action(file_menu, self.tr("Add folder…"), self.choose_and_add, QKeySequence.StandardKey.Open)
        self._action(file_menu, self.tr("Models…"), self.show_models, QKeySequence("Ctrl+M"))
        self._action(file_menu, self.tr("Settings…"), self.edit_settings, QKeySequence.StandardKey.Preferences)
        file_menu.addSeparator()
        self._action(file_menu, self.tr("Quit"), self.quit_app, QKeySequence.StandardKey.Quit)
        view_menu = self.menuBar().addMenu(self.tr("&View"))
        self.quick_ask_action = self._action(view_menu, self.tr("Quick ask"), self.quick_ask.show_and_focus,
                                             QKeySequence(QUICK_ASK_SHORTCUT))
        self.quick_ask_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self._action(view_menu, self.tr("Ask"), lambda: self.ask_panel.question.setFocus(), QKeySequence("Ctrl+L"))
        self.threads_action = self._action(view_menu, self.tr("Conversations"),
                                           lambda: self.threads_panel.setVisible(self.threads_action.isChecked()),
                                           QKeySequence("Ctrl+Shift+L"))
        self.threads_action.setCheckable(True)
        self.threads_action.setChecked(True)

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:  # noqa: ANN001
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # --- library --------------------------------------------------------------------------------

    @Slot()
    def refresh_sources(self) -> None:
        library = self.service.library

        def listing():  # noqa: ANN202 - records, roots and the files not indexed, for the panel
            roots = [r.path for r in library.roots()]
            return library.sources(), roots, unindexed_files(roots, excluded=library.exclusions.matcher(),
                                                             links=library.link_policy())

        self.runner.op(listing).success(self._show_sources).failure(self._error).run()
        roots = library.roots()
        self.sources_panel.watch_button.blockSignals(True)
        self.sources_panel.watch_button.setChecked(any(r.watch for r in roots))
        self.sources_panel.watch_button.blockSignals(False)

    def _show_sources(self, listing: tuple) -> None:
        records, roots, unindexed = listing
        self.sources_panel.set_sources(records, roots=roots, unindexed=unindexed)
        self.ask_panel.library_files = self.quick_ask.library_files = len(records)
        self.sources_listed.emit()

    def choose_and_add(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Add a folder to the library"))
        if folder:
            self.add_paths([Path(folder)])

    def add_paths(self, paths: list[Path]) -> None:
        if self._ingest is not None:
            self.statusBar().showMessage(self.tr("Still adding files; try again when it is done."), 5000)
            return
        service = self.service

        def work(progress, cancel):  # noqa: ANN001, ANN202 - the Op passes both
            return service.add(paths, progress=progress, cancel=cancel)

        self._show_progress(True)
        self.progress.setRange(0, 0)
        self.progress_label.setText(self.tr("Adding…"))
        self._ingest = (self.runner.op(work, takes=("progress", "cancel")).progress(self._on_progress)
                        .success(self._ingest_done).failure(self._ingest_failed).finally_(self._ingest_over).run())

    def cancel_ingest(self) -> None:
        if self._ingest is not None:
            self._ingest.cancel.set()
            self.progress_label.setText(self.tr("Cancelling…"))

    def _on_progress(self, event: IngestProgress) -> None:
        self.progress.setRange(0, max(event.total, 1))
        self.progress.setValue(event.done)
        what = {"embed": self.tr("vectors"), "analyse": self.tr("chunks")}.get(event.phase, self.tr("files"))
        eta = self.tr(", {s:.0f} s left").format(s=event.eta_s) if event.eta_s else ""
        self.progress_label.setText(f"{event.done}/{event.total} {what}{eta}")

    def _ingest_done(self, summary: IngestSummary) -> None:
        message = self.tr("{added} added, {updated} updated, {unchanged} unchanged, {failed} failed").format(
            added=summary.added, updated=summary.updated, unchanged=summary.unchanged, failed=summary.failed)
        if summary.cancelled:
            message += self.tr(" (cancelled; add again to finish)")
        self.statusBar().showMessage(message, 15000)
        self._ingest_result = summary

    def _ingest_failed(self, exc: BaseException) -> None:
        self._error(exc)
        self._ingest_result = exc

    def _ingest_over(self) -> None:
        self._ingest = None
        self._show_progress(False)
        self.refresh_sources()
        self.ingest_finished.emit(self._ingest_result)  # last: a new ingest may start from here

    def _show_progress(self, shown: bool) -> None:
        for widget in (self.progress, self.progress_label, self.cancel_button):
            widget.setVisible(shown)

    def remove_paths(self, paths: list[str]) -> None:
        self.runner.op(lambda: self.service.remove([Path(p) for p in paths])).success(
            lambda _n: self.refresh_sources()).failure(self._error).run()

    def set_watching(self, watch: bool) -> None:
        """Follow (or stop following) every folder of the library while the window is open."""
        library = self.service.library
        for root in library.roots():
            library.set_watch(Path(root.path), watch)
        if watch and self._watch_stop is None:
            from ..core.watch import watch_library

            stop = self._watch_stop = threading.Event()
            thread = threading.Thread(target=watch_library, name="ippon-watch", daemon=True,
                                      kwargs={"library": library, "stop": stop, "on_update": self._watched})
            thread.start()
        elif not watch and self._watch_stop is not None:
            self._watch_stop.set()
            self._watch_stop = None

    def _watched(self, summary: IngestSummary) -> None:
        # Called on the watcher's thread: hop to the main thread through a queued call.
        if summary.added or summary.updated or summary.removed:
            QMetaObject.invokeMethod(self, "refresh_sources", Qt.ConnectionType.QueuedConnection)

    def open_source(self, path: str) -> None:
        """Open a cited file in the system's viewer, and say so when that is not possible."""
        if not Path(path).exists():
            self._error(OSError(self.tr("{path}: the file is no longer there (moved, renamed or deleted?); "
                                        "add its new place to the library").format(path=path)))
        elif not open_at_page(path, self._cited_page(path)):
            self._error(OSError(self.tr("{path}: no application could open this file").format(path=path)))

    def _cited_page(self, path: str) -> int | None:
        """The page the preview shows of `path`, so "Open file" opens there."""
        shown = self.ask_panel.page_view.shown
        return shown[1] if shown and shown[0] == path else None

    def _show_quick_citation(self, sources: list, n: int) -> None:
        self.bring_forward()
        self.ask_panel.show_sources(sources, select=n)

    def _follow_link(self, link: str) -> None:
        self.bring_forward()
        self.show_models() if link == "models" else self.choose_and_add()

    # --- previews -------------------------------------------------------------------------------

    def _page_text(self, citation: Citation) -> str:
        chunks = self.service.library.store.chunks_of(source_id_for(citation.path))
        on_page = [c for c in chunks if c.page == citation.page]
        if not on_page:
            return citation.text
        # Chunks overlap: rebuild the page from their offsets in the document.
        text, end = "", on_page[0].char_start
        for c in on_page:
            if c.char_end > end:
                text += c.text[max(0, end - c.char_start):]
                end = c.char_end
        return text

    def _thumbnail(self, path: str) -> bytes | None:
        record = self.service.library.store.source(source_id_for(path))
        return record.thumbnail if record else None

    # --- settings, drops, closing ---------------------------------------------------------------

    def edit_settings(self) -> None:
        changes = SettingsDialog.ask(self.service.config, self, appearance=load_appearance(self.settings))
        if not changes:
            return
        look = changes.pop("appearance", None)
        if look is not None:
            save_appearance(self.settings, look)
            apply_appearance(QApplication.instance(), look)
        if not changes:
            return
        try:
            update_config_file(changes, self.service.config.config_file)
        except Exception as exc:  # noqa: BLE001 - a ConfigError to show
            self._error(exc)
            return
        self.reload_service()

    def reload_service(self) -> None:
        """Start over with the configuration as it now is on disk (after Settings or Models changed it)."""
        if self._ingest is not None or self.controller.busy or self.quick_ask.controller.busy:
            self.runner.cancel_all()
            self.runner.wait()
        old, self.service = self.service, IpponService(load_config())
        old.close()
        # The Models dialog updates the old service's config too, so compare with what this window last saw.
        embedder_changed, self._embedder = self.service.config.embedder != self._embedder, self.service.config.embedder
        self.controller.service = self.service
        self.quick_ask.controller.service = self.service
        if self.models_dialog is not None:
            self.models_dialog.service = self.service
        self.models_status.show_models(self.service.config)
        self.refresh_sources()
        if embedder_changed and self.service.config.embedder:
            self.compute_vectors()

    def compute_vectors(self) -> None:
        """The vector phase for the whole library, after an embedder was chosen (progress as for an ingest)."""
        if self._ingest is not None:
            return
        library = self.service.library

        def work(progress, cancel):  # noqa: ANN001, ANN202 - the Op passes both
            written = library.embed_pending(progress=progress, cancel=cancel)
            return IngestSummary(chunks=written, cancelled=cancel.is_set())

        self._show_progress(True)
        self.progress.setRange(0, 0)
        self.progress_label.setText(self.tr("Computing vectors…"))
        self._ingest = (self.runner.op(work, model=True, takes=("progress", "cancel")).progress(self._on_progress)
                        .success(self._vectors_done).failure(self._ingest_failed).finally_(self._ingest_over).run())

    def upgrade_index(self) -> None:
        """A library made by an older Ippon: rebuild its keyword index now, with progress (its old index answers
        searches meanwhile, and a cancelled run continues at the next start or add)."""
        if self._ingest is not None or not self.service.index_outdated():
            return
        service = self.service

        def work(progress, cancel):  # noqa: ANN001, ANN202 - the Op passes both
            try:
                return IngestSummary(cancelled=not service.upgrade_index(progress=progress, cancel=cancel))
            except LibraryBusyError:  # another process writes to the library, and upgrades it first
                return IngestSummary(cancelled=True)

        self._show_progress(True)
        self.progress.setRange(0, 0)
        self.progress_label.setText(self.tr("Updating the keyword index…"))
        self._ingest = (self.runner.op(work, takes=("progress", "cancel")).progress(self._on_progress)
                        .success(self._index_upgraded).failure(self._ingest_failed).finally_(self._ingest_over).run())

    def _index_upgraded(self, summary: IngestSummary) -> None:
        if not summary.cancelled:
            self.statusBar().showMessage(self.tr("Keyword index updated: parts of compound words and other spellings "
                                                 "of a word are found now."), 15000)
        self._ingest_result = summary

    def _vectors_done(self, summary: IngestSummary) -> None:
        message = (self.tr("Vectors: {n} computed; search now uses meaning as well as words.").format(n=summary.chunks)
                   if not summary.cancelled else self.tr("Vectors: stopped; they continue the next time you add files."))
        self.statusBar().showMessage(message, 15000)
        self._ingest_result = summary

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

    def _error(self, exc: BaseException) -> None:
        """Show an error without blocking the window (the message names the file and the reason)."""
        self.statusBar().showMessage(user_message(exc), 20000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Ippon", user_message(exc), parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _restore_geometry(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1180, 760)

    def bring_forward(self) -> None:
        """Show the window in front (from the tray, or when Ippon is launched a second time)."""
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def quit_app(self) -> None:
        """Quit for real (the menu's Quit, the tray's Quit), not just hide the window."""
        self._quitting = True
        self.close()
        QApplication.quit()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """With a tray, closing hides the window and Ippon stays in the menu bar (macOS convention; Quit quits).
        Quitting cancels whatever runs (an ingest stops after a whole batch of files) and waits for it."""
        self.settings.setValue("window/geometry", self.saveGeometry())
        if self.tray.available and not self._quitting:
            event.ignore()
            self.hide()
            self.tray.announce_hidden(self.settings)
            return
        if self._watch_stop is not None:
            self._watch_stop.set()
        self.serve_control.stop()
        self.global_hotkey.stop()
        self.runner.cancel_all()
        self.runner.wait()
        self.quick_ask.close()
        if self.tray.icon is not None:
            self.tray.icon.hide()
        super().closeEvent(event)
