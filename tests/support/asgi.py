"""Call the app in process: see ``gateway.http.in_process``."""

from gateway.http.in_process import in_process_client as in_process

__all__ = ["in_process"]
