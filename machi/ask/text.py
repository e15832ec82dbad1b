"""An answer as plain text: for LINE messages and the `machi ask` command."""

from django.utils import translation
from django.utils.translation import gettext as _

from machi.ask.services import AskResult


def plain_text(result: AskResult, site_url: str = "") -> str:
    with translation.override(result.lang):
        lines: list[str] = []
        if result.far_away:
            # Somewhere far from the ward: say so, and how to ask about a place in it.
            far = _(
                "You seem to be outside the ward: the nearest place in “%(layer)s” is "
                "%(distance)s away."
            )
            distance = result.places[0]["distance_text"]
            lines.append(far % {"layer": result.place_layer, "distance": distance})
            lines.append(
                _("Ask again with a station or town, for example:") + f" {result.place_example}"
            )
        elif result.places:
            lines.append(
                _("%(layer)s near %(where)s:")
                % {"layer": result.place_layer, "where": result.place_where}
                if result.place_where
                else _("%(layer)s near you:") % {"layer": result.place_layer}
            )
            for place in result.places:
                line = f"・{place['name']}"
                if place["distance_text"]:
                    line += " " + _("(%(distance)s)") % {"distance": place["distance_text"]}
                if place["address"]:
                    line += f" {place['address']}"
                lines.append(line)
                lines.append(f"  {site_url}{place['map_url']}")
        elif result.needs_location:
            # A text message carries no location: ask for a place, or point to the map.
            lines.append(
                _("To find the nearest %(layer)s, I need to know where you are.")
                % {"layer": result.place_layer}
            )
            lines.append(
                _("Ask again with a station or town, for example:") + f" {result.place_example}"
            )
            if result.place_map_url:
                lines.append(
                    _("Or open the map and press “%(near_me)s”: %(url)s")
                    % {"near_me": _("Near me"), "url": f"{site_url}{result.place_map_url}"}
                )
        if result.answer is not None:
            if lines:
                lines.append("")
            lines.append(result.answer.answer)
            if result.answer.url:
                lines.append(_("Source: %(url)s") % {"url": result.answer.url})
            if result.answer.contact:
                lines.append(_("Contact: %(contact)s") % {"contact": result.answer.contact})
        elif result.abstained:
            lines.append(_("Sorry, I could not find an answer to that question."))
            if result.contact:
                lines.append(
                    _("Please ask %(department)s: %(contact)s")
                    % {
                        "department": result.contact["department"],
                        "contact": result.contact["contact"],
                    }
                )
        if result.alternatives:
            lines.append("")
            lines.append(_("Did you mean:") if result.answer is None else _("Related questions:"))
            lines.extend(f"・{alternative.question}" for alternative in result.alternatives)
        return "\n".join(lines)
