"""The resident Q&A in the machi API: POST /ask and POST /ask/feedback."""

from dataclasses import asdict
from typing import Any

from django.http import HttpRequest
from django.utils import translation
from ninja import Router

from machi.ask import services
from machi.ask.models import Channel
from machi.ask.schemas import AskIn, AskOut, FeedbackIn, FeedbackOut

router = Router(tags=["ask"])


def result_json(result: services.AskResult) -> dict[str, Any]:
    return {
        "id": result.log_id,
        "abstained": result.abstained,
        "confidence": result.confidence,
        "answer": asdict(result.answer) if result.answer else None,
        "alternatives": [asdict(answer) for answer in result.alternatives],
        "places": result.places,
        "place_layer": result.place_layer,
        "place_where": result.place_where,
        "needs_location": result.needs_location,
        "far_away": result.far_away,
        "place_example": result.place_example,
        "contact": result.contact or None,
        "lang": result.lang,
    }


@router.post("/ask", response=AskOut, summary="Ask the ward's chatbot", url_name="ask_question")
def ask(request: HttpRequest, payload: AskIn) -> dict[str, Any]:
    """The best FAQ answer with up to three alternatives, or facilities from the open data.

    When no entry is sure enough, `abstained` is true, `answer` is null and `contact` names
    the department to ask. Questions are logged with personal data masked.
    """
    channel = Channel.WEB if request.headers.get("X-Machi-Widget") else Channel.API
    result = services.ask(
        question=payload.question,
        lang=payload.lang,
        lat=payload.lat,
        lon=payload.lon,
        channel=channel,
        user=request.user,
    )
    with translation.override(result.lang):
        return result_json(result)


@router.post(
    "/ask/feedback",
    response=FeedbackOut,
    summary="Was the answer helpful?",
    url_name="ask_feedback",
)
def feedback(request: HttpRequest, payload: FeedbackIn) -> dict[str, bool]:
    services.record_feedback(log_id=payload.id, helpful=payload.helpful)
    return {"ok": True}
