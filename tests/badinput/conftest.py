"""Bad input against the running gateway: one gateway for the whole package (``support.badinput`` has its config
and the judge every answer goes through)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.badinput import badinput_config
from support.servers import Gateway, fake_provider, gateway


@pytest.fixture(scope="package")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("badinput")
    with fake_provider() as upstream, gateway(badinput_config(upstream, tmp), tmp, ready_timeout=90) as server:
        yield server
