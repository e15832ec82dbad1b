from typing import Literal

from ninja import Field, Schema


class AskIn(Schema):
    question: str = Field(..., min_length=1, max_length=1000)
    lang: Literal["ja", "en"] | None = Field(
        None, description="Language of the answer; guessed from the question when left out."
    )
    lat: float | None = Field(None, ge=-90, le=90, description="The asker's latitude (WGS84).")
    lon: float | None = Field(None, ge=-180, le=180, description="The asker's longitude.")


class AnswerOut(Schema):
    faq_id: str
    question: str
    answer: str
    url: str
    department: str
    contact: str


class PlaceOut(Schema):
    name: str
    lat: float
    lon: float
    distance_m: int | None
    distance_text: str = Field("", description="The distance as residents read it: 850 m, 1.2 km.")
    address: str
    hours: str
    phone: str
    layer: str
    map_url: str


class ContactOut(Schema):
    department: str
    contact: str


class AskOut(Schema):
    id: str = Field(..., description="The answer's id, for POST /ask/feedback.")
    abstained: bool = Field(..., description="True when the chatbot does not know.")
    confidence: float
    answer: AnswerOut | None
    alternatives: list[AnswerOut] = Field(..., description="Up to three other entries.")
    places: list[PlaceOut] = Field(..., description="Facilities from the open data.")
    place_layer: str = Field("", description="The layer the places come from.")
    place_where: str = Field("", description="The town or station they are near, if named.")
    needs_location: bool = Field(
        ..., description="A facility question with no place named and no lat/lon given."
    )
    far_away: bool = Field(
        False, description="lat/lon are outside the ward: the nearest place is over 5 km away."
    )
    place_example: str = Field(
        "", description="The question asked with a station, which finds the nearest places."
    )
    contact: ContactOut | None = Field(None, description="Whom to ask, when abstained.")
    lang: str


class FeedbackIn(Schema):
    id: str
    helpful: bool


class FeedbackOut(Schema):
    ok: bool
