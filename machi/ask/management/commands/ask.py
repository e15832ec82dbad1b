"""`machi ask "質問"`: the chatbot's answer on the command line."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from machi.ask import index, services
from machi.ask.models import Channel
from machi.ask.text import plain_text


class Command(BaseCommand):
    help = "Answer a question from the FAQ and the open data, as the chatbot would."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("question")
        parser.add_argument("--lang", choices=["ja", "en"])
        parser.add_argument("--lat", type=float)
        parser.add_argument("--lon", type=float)
        parser.add_argument(
            "--explain", action="store_true", help="Also print the candidates and the confidence."
        )

    def handle(self, *args: Any, question: str, **options: Any) -> None:
        try:
            result = services.ask(
                question=question,
                lang=options["lang"],
                lat=options["lat"],
                lon=options["lon"],
                channel=Channel.CLI,
                log=False,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(plain_text(result, settings.SITE_URL))
        if options["explain"]:
            loaded = index.load()
            ranking = loaded.index.rank(question)
            self.stdout.write("")
            self.stdout.write(f"confidence {result.confidence:.3f} {ranking.details}")
            for candidate in ranking.candidates:
                entry = loaded.entries[candidate.index]
                self.stdout.write(
                    f"  {candidate.score:7.2f}  {entry['public_id']}  {entry['question']}"
                )
