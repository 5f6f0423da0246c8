"""Copy from any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp, Ollama).

Asks for `response_format: json_schema` first; a server that refuses it (llama.cpp-based ones
answer 400) is asked again with `json_object`, and the choice is remembered. Every answer is
checked against COPY_SCHEMA and the facts rule; a broken one gets one repair turn. Anything
else (timeouts, refusals, a second broken answer) raises WriterFailed: the caller falls back.
Plain httpx, so tests talk to a real local server.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import httpx

from stylevault.campaigns.providers.copy import (
    COPY_SCHEMA,
    Copy,
    CopyInvalid,
    CopyRequest,
    WriterFailed,
    check_copy,
)

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You write short advertising copy for a small business. Answer with one JSON object only, "
    "matching this JSON schema: {schema}. Write headline, body and cta in the language given "
    "as `language` (ko: Korean, en: English), in the given `tone`. Use only facts from `brief`: "
    "never add numbers, prices, dates or discounts it does not give. At most 5 hashtags. "
    "`image_prompt` is in English, describes a photograph for the ad and asks for no text, "
    "letters or logos in the picture. When `shorter` is true, keep the body to one sentence."
)


@dataclass(frozen=True)
class Timeouts:
    connect: float = 3.0
    read: float = 20.0

    def httpx(self) -> httpx.Timeout:
        return httpx.Timeout(self.read, connect=self.connect, write=5.0, pool=self.connect)


class _FormatRefused(Exception):
    pass


class OpenAIWriter:
    name = "llm"

    def __init__(
        self, *, base_url: str, api_key: str = "", model: str = "", timeouts: Timeouts = Timeouts()
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model or "default"
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.timeouts = timeouts
        self.json_schema = True  # False once the server refused it

    def _format(self) -> dict:
        if self.json_schema:
            return {
                "type": "json_schema",
                "json_schema": {"name": "ad_copy", "schema": COPY_SCHEMA, "strict": True},
            }
        return {"type": "json_object"}

    def _complete(self, client: httpx.Client, messages: list[dict]) -> str:
        body = {
            "model": self.model,
            "messages": messages,
            "temperature": 0.7,
            "response_format": self._format(),
        }
        response = client.post(self.url, json=body, headers=self.headers)
        if response.status_code in (400, 422) and self.json_schema:
            raise _FormatRefused(response.text[:200])
        if response.status_code != 200:
            raise WriterFailed(f"the language model answered HTTP {response.status_code}")
        try:
            return response.json()["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise WriterFailed("the language model's answer is not a chat completion") from exc

    def _ask(self, client: httpx.Client, messages: list[dict]) -> str:
        try:
            return self._complete(client, messages)
        except _FormatRefused:
            log.info("the language model refused json_schema; asking with json_object")
            self.json_schema = False
            return self._complete(client, messages)

    def write(self, request: CopyRequest) -> Copy:
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT.format(schema=json.dumps(COPY_SCHEMA))},
            {"role": "user", "content": json.dumps(request.as_prompt(), ensure_ascii=False)},
        ]
        facts = f"{request.brief} {request.brand}"
        try:
            with httpx.Client(timeout=self.timeouts.httpx()) as client:
                answer = self._ask(client, messages)
                try:
                    return check_copy(_parse(answer), brief=facts)
                except CopyInvalid as exc:
                    problems = exc.problems
                messages += [
                    {"role": "assistant", "content": answer},
                    {
                        "role": "user",
                        "content": "That answer is not valid: "
                        + "; ".join(problems)
                        + ". Reply with the corrected JSON object only.",
                    },
                ]
                repaired = self._ask(client, messages)
                try:
                    return check_copy(_parse(repaired), brief=facts)
                except CopyInvalid as exc:
                    raise WriterFailed(f"the repaired answer is still invalid: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise WriterFailed("the language model did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise WriterFailed(f"the language model could not be reached: {exc}") from exc


def _parse(answer: str) -> object:
    text = answer.strip()
    if text.startswith("```"):  # some servers wrap JSON in a fence even in JSON mode
        text = text.strip("`").removeprefix("json").strip()
    try:
        return json.loads(text)
    except ValueError:
        return text  # the schema check reports it as "not an object"
