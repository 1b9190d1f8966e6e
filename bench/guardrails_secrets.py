"""The secrets guardrail on real-format credentials and on look-alikes, against detect-secrets' plugins alone.

    .venv/bin/python bench/guardrails_secrets.py

Real-format keys are generated here in each provider's published format (random values, no live key), one per
format, each inside a sentence. Look-alikes are strings a secret scanner must not flag: too-short or placeholder
keys, public keys, hashes, UUIDs, URLs without a password, ordinary prose about keys. Benign prose (Presidio's
synthetic sentences, Alpaca's seed tasks) gives the false-positive rate on ordinary text.
"""

from __future__ import annotations

import random
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import guardrails_data as data

from gateway.guardrails.detectors.secrets import SecretsDetector

RNG = random.Random(11)
ALNUM = string.ascii_letters + string.digits


def r(n: int, alphabet: str = ALNUM) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def real_format() -> dict[str, str]:
    upper = string.ascii_uppercase + string.digits
    lower = string.ascii_lowercase + string.digits
    b64 = ALNUM + "+/"
    return {
        "AWS access key id": "AKIA" + r(16, upper),
        "AWS secret access key": f'aws_secret_access_key = "{r(40, b64)}"',
        "GitHub classic token": "ghp_" + r(36),
        "GitHub fine-grained token": "github_pat_" + r(22) + "_" + r(59),
        "GitLab token": "glpat-" + r(20),
        "Slack bot token": f"xoxb-{r(11, string.digits)}-{r(13, string.digits)}-{r(24, lower)}",
        "Stripe live key": "sk_live_" + r(24),
        "SendGrid key": f"SG.{r(22)}.{r(43)}",
        "Twilio API key": "SK" + r(32, "0123456789abcdef"),
        "OpenAI legacy key": f"sk-{r(20)}T3BlbkFJ{r(20)}",
        "OpenAI project key": "sk-proj-" + r(100, ALNUM + "_-"),
        "Anthropic key": "sk-ant-api03-" + r(93, ALNUM + "_-") + "AA",
        "Google API key": "AIza" + r(35, ALNUM + "_-"),
        "Hugging Face token": "hf_" + r(34),
        "npm token": "//registry.npmjs.org/:_authToken=npm_" + r(36),
        "PyPI token": "pypi-AgEIcHlwaS5vcmc" + r(70, ALNUM + "-_"),
        "JWT": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0." + r(43, ALNUM + "-_"),
        "RSA private key": "-----BEGIN RSA PRIVATE KEY-----\n" + r(64, b64) + "\n-----END RSA PRIVATE KEY-----",
        "OpenSSH private key": "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        + r(64, b64)
        + "\n-----END OPENSSH PRIVATE KEY-----",
        "Azure storage key": "AccountKey=" + r(86, b64) + "==",
        "PostgreSQL URL with password": f"postgresql://app:{r(16)}@db.internal:5432/prod",
        "MongoDB URL with password": f"mongodb+srv://admin:{r(12)}@cluster0.example.net/test",
        "Redis URL with password": f"redis://default:{r(20)}@cache.example.com:6379",
        "Databricks token": "dapi" + r(32, "0123456789abcdef"),
        "Groq key": "gsk_" + r(52),
        "Discord bot token": f"M{r(23)}.{r(6)}.{r(27)}",
        "Telegram bot token": f"{r(9, string.digits)}:{r(35, ALNUM + '_-')}",
        "Mailchimp key": r(32, "0123456789abcdef") + "-us12",
        "Square OAuth secret": "sq0csp-" + r(43, ALNUM + "-_"),
    }


def look_alikes() -> dict[str, str]:
    return {
        "short AWS-like id": "AKIA" + r(10, string.ascii_uppercase),
        "placeholder OpenAI key": "sk-xxxxxxxxxxxxxxxxxxxxxxxx",
        "placeholder in docs": "export OPENAI_API_KEY=<your key here>",
        "scikit-learn": "pip install sk-learn style packages such as scikit-learn",
        "git commit sha": r(40, "0123456789abcdef"),
        "UUID": "3f2b8c1e-9a4d-4e7b-8f21-6c5d0a9b7e13",
        "SHA-256 hex": r(64, "0123456789abcdef"),
        "public key": "-----BEGIN PUBLIC KEY-----\n" + r(64) + "\n-----END PUBLIC KEY-----",
        "certificate": "-----BEGIN CERTIFICATE-----\n" + r(64) + "\n-----END CERTIFICATE-----",
        "URL without password": "postgresql://localhost:5432/app",
        "URL with user only": "https://user@example.com/path",
        "JWT-like word": "eyJ is how base64 JSON starts",
        "GitHub-like short": "ghp_tooShort123",
        "Stripe test key": "sk_test_" + r(24),
        "Stripe publishable": "pk_live_" + r(24),
        "base64 image fragment": "data:image/png;base64," + r(80, ALNUM + "+/"),
        "prose about tokens": "Rotate your API token every 90 days and never paste the secret key into chat.",
        "version string": "release v2.14.0-rc.1+build.5678",
        "phone-like digits": "Call 415-555-2671 ext 12",
        "hex colour list": "#ff00aa #00ffcc #123456 #abcdef",
        "slack-like text": "xoxo hugs and kisses",
        "random words": "alpha bravo charlie delta echo foxtrot golf hotel",
        "AWS ARN": "arn:aws:iam::123456789012:role/ReadOnly",
        "long model name": "anthropic/claude-3-5-sonnet-20241022",
    }


def run(detector: SecretsDetector, texts: list[str]) -> list[bool]:
    return [bool(detector.find(t)) for t in texts]


def main() -> None:
    real, fake = real_format(), look_alikes()
    benign = data.presidio_sentences()[0] + data.alpaca_seed()[0]
    ours, plugins_only = SecretsDetector(), SecretsDetector(extra=False)
    print("| detector | real-format keys found | look-alikes flagged | benign texts flagged | CPU µs per 500 words |")
    print("| --- | ---: | ---: | ---: | ---: |")
    prose = " ".join(benign[:60])[:3300]
    for label, detector in (("detect-secrets plugins only", plugins_only), ("gateway secrets (plugins + extra)", ours)):
        found = run(detector, [f"here is the key: {v} use it" for v in real.values()])
        flagged = run(detector, list(fake.values()))
        false = run(detector, benign)
        started = time.process_time()  # CPU: a shared machine's other processes do not count
        for _ in range(200):
            detector.find(prose)
        micro = (time.process_time() - started) / 200 * 1e6
        print(
            f"| {label} | {sum(found)}/{len(found)} | {sum(flagged)}/{len(flagged)} | "
            f"{sum(false)}/{len(false)} | {micro:.0f} |"
        )
    missed = [name for (name, _), hit in zip(real.items(), run(ours, list(real.values())), strict=True) if not hit]
    wrong = [name for (name, _), hit in zip(fake.items(), run(ours, list(fake.values())), strict=True) if hit]
    print(f"\nmissed: {', '.join(missed) or 'none'}; look-alikes flagged: {', '.join(wrong) or 'none'}")


if __name__ == "__main__":
    main()
