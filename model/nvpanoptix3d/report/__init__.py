"""The job report: ``report.html`` (one offline page: KPIs, curves, per-class table, inference images and
an interactive 3D view of each mesh) and static PNG previews of reconstructions."""

from nvpanoptix3d.report.page import REPORT_NAME, REPORTED_ACTIONS, build_report, report_after_action, write_report
from nvpanoptix3d.report.preview import preview_image, render, write_preview

__all__ = ["REPORTED_ACTIONS", "REPORT_NAME", "build_report", "report_after_action", "preview_image", "render", "write_preview", "write_report"]
