""":func:`evaluate`: every rule's verdict with its reason in three languages, combined by ALL and
ANY, for an application's facts against a window's on a given date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import assert_never

from scoring.eligibility.rules import (
    ATTACHMENT_KIND_NAMES,
    LANGUAGES,
    ORGANISATION_KIND_NAMES,
    AllOf,
    AnyOf,
    ApplicationFacts,
    AttachmentsPresent,
    BudgetLinesConsistent,
    LeadershipFlag,
    LedBy,
    LedByMode,
    LinkedToEligibleItem,
    MaxActiveGrants,
    MinCoFundingShare,
    MinYearsSinceFounding,
    OrganisationKindIn,
    RequestedAmountWithinWindow,
    Rule,
    RuleSet,
    TerritoryInWindow,
    Verdict,
    WindowFacts,
)
from scoring.eligibility.wording import (
    _FLAG_WORDS,
    _YES_NO,
    _decimal,
    _fixed,
    _join,
    _Judgement,
    _missing,
    _money,
    _names,
    _ru_years_genitive,
    _territory_name,
    _texts,
)

# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleResult:
    rule_id: str
    kind: str
    verdict: Verdict
    reason: dict[str, str] = field(hash=False)
    """{"en", "ru", "ky"}."""
    children: tuple[RuleResult, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "rule_id": self.rule_id,
            "kind": self.kind,
            "verdict": self.verdict.value,
            "reason": dict(self.reason),
            "children": [child.to_json() for child in self.children],
        }


def _failed_leaves(results: Iterable[RuleResult], out: list[str]) -> list[str]:
    for result in results:
        if result.verdict is Verdict.FAIL:
            if result.children:
                _failed_leaves(result.children, out)
            else:
                out.append(result.rule_id)
    return out


@dataclass(frozen=True)
class Evaluation:
    verdict: Verdict
    results: tuple[RuleResult, ...]
    """One per top-level rule, in the rule set's order."""

    def failed_rule_ids(self) -> list[str]:
        """The failed leaf rules that make the evaluation fail, depth-first.

        Only failed results are descended into: a failed alternative inside an ``any`` that
        passes is not a reason for failing, so it is not listed. A failed evaluation always
        lists at least one rule.
        """
        return _failed_leaves(self.results, [])

    def to_json(self) -> dict[str, object]:
        """JSON-ready, for storing with the proposal."""
        return {
            "verdict": self.verdict.value,
            "results": [result.to_json() for result in self.results],
            "failed_rule_ids": self.failed_rule_ids(),
        }


# --- judging each kind ------------------------------------------------------------------------


def _organisation_kind_in(rule: OrganisationKindIn, app: ApplicationFacts) -> _Judgement:
    if app.organisation_kind is None:
        return _missing("organisation_kind")
    en, ru, ky = ORGANISATION_KIND_NAMES.get(app.organisation_kind, (app.organisation_kind,) * 3)
    all_en, all_ru, all_ky = _join(*_names(rule.kinds, ORGANISATION_KIND_NAMES))
    if app.organisation_kind in rule.kinds:
        return Verdict.PASS, _texts(
            f"{en}: among the eligible organisation kinds ({all_en})",
            f"{ru}: входит в допустимые виды организаций ({all_ru})",
            f"{ky}: уюмдардын жол берилген түрлөрүнө кирет ({all_ky})",
        )
    return Verdict.FAIL, _texts(
        f"{en}: not among the eligible organisation kinds ({all_en})",
        f"{ru}: не входит в допустимые виды организаций ({all_ru})",
        f"{ky}: уюмдардын жол берилген түрлөрүнө кирбейт ({all_ky})",
    )


def _territory_in_window(app: ApplicationFacts, window: WindowFacts) -> _Judgement:
    if app.territory is None:
        return _missing("territory")
    names: dict[str, tuple[str, str]] = {}
    for language, none in zip(LANGUAGES, ("none", "нет", "жок"), strict=True):
        listed = sorted(_territory_name(window, code, language) for code in window.territories)
        names[language] = (
            _territory_name(window, app.territory, language),
            ", ".join(listed) or none,
        )
    (en, all_en), (ru, all_ru), (ky, all_ky) = names["en"], names["ru"], names["ky"]
    if app.territory in window.territories:
        return Verdict.PASS, _texts(
            f"registered in {en}: one of the funding window's territories ({all_en})",
            f"территория регистрации — {ru}: входит в территории окна финансирования ({all_ru})",
            f"уюм катталган аймак — {ky}: каржылоо терезесинин аймактарына кирет ({all_ky})",
        )
    return Verdict.FAIL, _texts(
        f"registered in {en}: not one of the funding window's territories ({all_en})",
        f"территория регистрации — {ru}: не входит в территории окна финансирования ({all_ru})",
        f"уюм катталган аймак — {ky}: каржылоо терезесинин аймактарына кирбейт ({all_ky})",
    )


def _min_years(rule: MinYearsSinceFounding, app: ApplicationFacts, as_of: date) -> _Judgement:
    if app.founded_year is None:
        return _missing("founded_year")
    founded, need = app.founded_year, rule.years
    has = as_of.year - founded
    verdict = Verdict.PASS if has >= need else Verdict.FAIL
    return verdict, _texts(
        f"founded {founded}: needs at least {need} year{'' if need == 1 else 's'} (has {has})",
        f"основана в {founded} г.: нужно не менее {need} {_ru_years_genitive(need)} (есть {has})",
        f"{founded}-жылы негизделген: кеминде {need} жыл керек ({has} жыл бар)",
    )


def _requested_within(app: ApplicationFacts, window: WindowFacts) -> _Judgement:
    if app.requested_amount is None:
        return _missing("requested_amount")
    req = _money(app.requested_amount, window.currency)
    low = _money(window.min_grant, window.currency)
    high = _money(window.max_grant, window.currency)
    if app.requested_amount < window.min_grant:
        return Verdict.FAIL, _texts(
            f"requested {req[0]}: below the funding window's minimum of {low[0]}",
            f"запрошено {req[1]}: меньше минимальной суммы окна финансирования ({low[1]})",
            f"суралган сумма {req[2]}: каржылоо терезесинин минималдык суммасынан аз ({low[2]})",
        )
    if app.requested_amount > window.max_grant:
        return Verdict.FAIL, _texts(
            f"requested {req[0]}: above the funding window's maximum of {high[0]}",
            f"запрошено {req[1]}: больше максимальной суммы окна финансирования ({high[1]})",
            f"суралган сумма {req[2]}: каржылоо терезесинин максималдык суммасынан көп ({high[2]})",
        )
    return Verdict.PASS, _texts(
        f"requested {req[0]}: within the funding window's range of {low[0]} to {high[0]}",
        f"запрошено {req[1]}: в пределах окна финансирования (от {low[1]} до {high[1]})",
        f"суралган сумма {req[2]}: каржылоо терезесинин чегинде ({low[2]} – {high[2]})",
    )


def _co_funding(rule: MinCoFundingShare, app: ApplicationFacts, window: WindowFacts) -> _Judgement:
    missing = [f for f in ("requested_amount", "co_funding_amount") if getattr(app, f) is None]
    if missing or app.requested_amount is None or app.co_funding_amount is None:
        return _missing(*missing)
    co_funding, total = app.co_funding_amount, app.requested_amount + app.co_funding_amount
    share = Fraction(100 * co_funding, total) if total > 0 else Fraction(0)
    need = _decimal(rule.percent)
    # Rounded down, with at least the places of the requirement: a share shown as reaching the
    # requirement always does.
    has = _fixed(share, max(2, len(need.partition(".")[2])))
    co, of = _money(co_funding, window.currency), _money(total, window.currency)
    verdict = Verdict.PASS if share >= rule.percent else Verdict.FAIL
    return verdict, _texts(
        f"co-funding {co[0]} of {of[0]} in total: needs at least {need}% (has {has}%)",
        f"софинансирование {co[1]} из общей суммы {of[1]}: нужно не менее {need}% (есть {has}%)",
        f"биргелешип каржылоо {co[2]} (жалпы сумма {of[2]}): кеминде {need}% керек ({has}% бар)",
    )


def _led_by(rule: LedBy, app: ApplicationFacts) -> _Judgement:
    values: list[bool | None] = [
        app.women_led if flag is LeadershipFlag.WOMEN_LED else app.youth_led for flag in rule.flags
    ]
    words = [_FLAG_WORDS[flag] for flag in rule.flags]
    states = [
        (f"{w[0]}: {_YES_NO[v][0]}", f"{w[1]}: {_YES_NO[v][1]}", f"{w[2]}: {_YES_NO[v][2]}")
        for w, v in zip(words, values, strict=True)
    ]
    facts_en, facts_ru, facts_ky = _join(*zip(*states, strict=True), sep="; ")
    any_true = any(v is True for v in values)
    unknown = [flag.value for flag, v in zip(rule.flags, values, strict=True) if v is None]
    if rule.mode is LedByMode.REQUIRED:
        if not any_true and unknown:
            return _missing(*unknown)
        must_en = " or ".join(w[0] for w in words)
        must_ru = " или ".join(w[3] for w in words)
        must_ky = " же ".join(w[5] for w in words)
        verb_ru = "должна" if rule.flags == (LeadershipFlag.YOUTH_LED,) else "должны"
        return Verdict.PASS if any_true else Verdict.FAIL, _texts(
            f"must be {must_en} ({facts_en})",
            f"организацией {verb_ru} руководить {must_ru} ({facts_ru})",
            f"уюмду {must_ky} жетектеши керек ({facts_ky})",
        )
    quota_en = f"the {' or '.join(w[0] for w in words)} quota"
    quota_ru = f"квоте для организаций под руководством {' или '.join(w[4] for w in words)}"
    quota_ky = f"{' же '.join(w[5] for w in words)} жетектеген уюмдардын квотасына"
    if any_true:
        en, ru, ky = (
            f"counts toward {quota_en}",
            f"учитывается в {quota_ru}",
            f"{quota_ky} кирет",
        )
    elif unknown:
        en, ru, ky = (
            f"not yet known whether it counts toward {quota_en}",
            f"пока неизвестно, учитывается ли в {quota_ru}",
            f"{quota_ky} кирери азырынча белгисиз",
        )
    else:
        en, ru, ky = (
            f"does not count toward {quota_en}",
            f"не учитывается в {quota_ru}",
            f"{quota_ky} кирбейт",
        )
    return Verdict.PASS, _texts(f"{en} ({facts_en})", f"{ru} ({facts_ru})", f"{ky} ({facts_ky})")


def _linked(rule: LinkedToEligibleItem, app: ApplicationFacts, window: WindowFacts) -> _Judgement:
    if app.action_plan_items is None:
        return _missing("action_plan_items")
    has = len(app.action_plan_items & window.action_plan_items)
    linked, need = len(app.action_plan_items), rule.min_items
    return Verdict.PASS if has >= need else Verdict.FAIL, _texts(
        "linked action-plan items eligible in this funding window: "
        f"needs at least {need} (has {has} of {linked} linked)",
        "связанные пункты плана действий, допустимые в этом окне финансирования: "
        f"нужно не менее {need} (есть {has} из {linked} связанных)",
        "ушул каржылоо терезесинде жол берилген байланышкан иш-аракеттер планынын пункттары: "
        f"кеминде {need} керек (байланышкан {linked} пункттан {has} бар)",
    )


def _attachments(rule: AttachmentsPresent, app: ApplicationFacts) -> _Judgement:
    if app.attachment_kinds is None:
        return _missing("attachment_kinds")
    all_en, all_ru, all_ky = _join(*_names(rule.kinds, ATTACHMENT_KIND_NAMES))
    missing = [kind for kind in rule.kinds if kind not in app.attachment_kinds]
    if not missing:
        return Verdict.PASS, _texts(
            f"all required attachments present ({all_en})",
            f"все требуемые приложения есть ({all_ru})",
            f"талап кылынган бардык тиркемелер бар ({all_ky})",
        )
    en, ru, ky = _join(*_names(missing, ATTACHMENT_KIND_NAMES))
    return Verdict.FAIL, _texts(
        f"missing attachments: {en} (required: {all_en})",
        f"не хватает приложений: {ru} (требуются: {all_ru})",
        f"жетишпеген тиркемелер: {ky} (талап кылынат: {all_ky})",
    )


def _max_active(rule: MaxActiveGrants, app: ApplicationFacts) -> _Judgement:
    if app.active_grants is None:
        return _missing("active_grants")
    has, limit = app.active_grants, rule.max_grants
    return Verdict.PASS if has <= limit else Verdict.FAIL, _texts(
        f"active grants in the programme: at most {limit} allowed (has {has})",
        f"действующие гранты в программе: допускается не более {limit} (есть {has})",
        f"программадагы активдүү гранттар: көп дегенде {limit} уруксат берилет ({has} бар)",
    )


def _budget_lines(app: ApplicationFacts, window: WindowFacts) -> _Judgement:
    missing = [f for f in ("requested_amount", "budget_lines") if getattr(app, f) is None]
    if missing or app.requested_amount is None or app.budget_lines is None:
        return _missing(*missing)
    currency = window.currency
    foreign = sorted({line.currency for line in app.budget_lines} - {currency})
    if foreign:
        codes = ", ".join(foreign)
        return Verdict.FAIL, _texts(
            f"budget lines in other currencies ({codes}): every line must be in {currency}",
            f"строки бюджета в других валютах ({codes}): все строки должны быть в {currency}",
            f"бюджеттин башка валютадагы саптары ({codes}): "
            f"бардык саптар {currency} менен болушу керек",
        )
    total = _money(sum(line.total for line in app.budget_lines), currency)
    req = _money(app.requested_amount, currency)
    if sum(line.total for line in app.budget_lines) == app.requested_amount:
        return Verdict.PASS, _texts(
            f"budget lines sum to {total[0]}, equal to the requested amount",
            f"строки бюджета в сумме дают {total[1]}, что равно запрошенной сумме",
            f"бюджеттин саптары жалпысынан {total[2]} түзөт, суралган суммага барабар",
        )
    return Verdict.FAIL, _texts(
        f"budget lines sum to {total[0]} but {req[0]} is requested",
        f"строки бюджета в сумме дают {total[1]}, а запрошено {req[1]}",
        f"бюджеттин саптары жалпысынан {total[2]} түзөт, ал эми {req[2]} суралган",
    )


# --- combining --------------------------------------------------------------------------------


def _combine_all(verdicts: Sequence[Verdict]) -> Verdict:
    if Verdict.FAIL in verdicts:
        return Verdict.FAIL
    if Verdict.NEEDS_INFORMATION in verdicts:
        return Verdict.NEEDS_INFORMATION
    return Verdict.PASS


def _combine_any(verdicts: Sequence[Verdict]) -> Verdict:
    if Verdict.PASS in verdicts:
        return Verdict.PASS
    if Verdict.NEEDS_INFORMATION in verdicts:
        return Verdict.NEEDS_INFORMATION
    return Verdict.FAIL


def _all_reason(verdict: Verdict, children: Sequence[RuleResult]) -> dict[str, str]:
    n = len(children)
    if verdict is Verdict.PASS:
        return _texts(
            f"all conditions met ({n} of {n})",
            f"все условия выполнены ({n} из {n})",
            f"бардык шарттар аткарылды ({n} шарттан {n})",
        )
    ids = [c.rule_id for c in children if c.verdict is verdict]
    listed, k = ", ".join(ids), len(ids)
    if verdict is Verdict.FAIL:
        return _texts(
            f"conditions not met ({k} of {n}): {listed}",
            f"условия не выполнены ({k} из {n}): {listed}",
            f"шарттар аткарылган жок ({n} шарттан {k}): {listed}",
        )
    return _texts(
        f"information missing for conditions ({k} of {n}): {listed}",
        f"не хватает сведений для условий ({k} из {n}): {listed}",
        f"шарттар үчүн маалымат жок ({n} шарттан {k}): {listed}",
    )


def _any_reason(verdict: Verdict, children: Sequence[RuleResult]) -> dict[str, str]:
    n = len(children)
    if verdict is Verdict.PASS:
        ids = [c.rule_id for c in children if c.verdict is Verdict.PASS]
        listed, k = ", ".join(ids), len(ids)
        return _texts(
            f"conditions met ({k} of {n}): {listed}; at least one needed",
            f"условия выполнены ({k} из {n}): {listed}; нужно хотя бы одно",
            f"шарттар аткарылды ({n} шарттан {k}): {listed}; жок дегенде бирөө керек",
        )
    if verdict is Verdict.FAIL:
        return _texts(
            f"no condition met (0 of {n}); at least one needed",
            f"ни одно условие не выполнено (0 из {n}); нужно хотя бы одно",
            f"бир да шарт аткарылган жок ({n} шарттан 0); жок дегенде бирөө керек",
        )
    ids = [c.rule_id for c in children if c.verdict is Verdict.NEEDS_INFORMATION]
    listed, k = ", ".join(ids), len(ids)
    return _texts(
        f"no condition met yet; information missing for conditions ({k} of {n}): {listed}",
        "ни одно условие пока не выполнено; "
        f"не хватает сведений для условий ({k} из {n}): {listed}",
        "азырынча бир да шарт аткарылган жок; "
        f"шарттар үчүн маалымат жок ({n} шарттан {k}): {listed}",
    )


# --- evaluating -------------------------------------------------------------------------------


def _judge(rule: Rule, app: ApplicationFacts, window: WindowFacts, as_of: date) -> RuleResult:
    match rule:
        case AllOf(rules=rules) | AnyOf(rules=rules):
            children = tuple(_judge(r, app, window, as_of) for r in rules)
            verdicts = [c.verdict for c in children]
            if isinstance(rule, AllOf):
                verdict = _combine_all(verdicts)
                reason = _all_reason(verdict, children)
            else:
                verdict = _combine_any(verdicts)
                reason = _any_reason(verdict, children)
            return RuleResult(rule.id, rule.kind, verdict, reason, children)
        case OrganisationKindIn():
            verdict, reason = _organisation_kind_in(rule, app)
        case TerritoryInWindow():
            verdict, reason = _territory_in_window(app, window)
        case MinYearsSinceFounding():
            verdict, reason = _min_years(rule, app, as_of)
        case RequestedAmountWithinWindow():
            verdict, reason = _requested_within(app, window)
        case MinCoFundingShare():
            verdict, reason = _co_funding(rule, app, window)
        case LedBy():
            verdict, reason = _led_by(rule, app)
        case LinkedToEligibleItem():
            verdict, reason = _linked(rule, app, window)
        case AttachmentsPresent():
            verdict, reason = _attachments(rule, app)
        case MaxActiveGrants():
            verdict, reason = _max_active(rule, app)
        case BudgetLinesConsistent():
            verdict, reason = _budget_lines(app, window)
        case _:
            assert_never(rule)
    return RuleResult(rule.id, rule.kind, verdict, reason)


def evaluate(
    rule_set: RuleSet, app: ApplicationFacts, window: WindowFacts, as_of: date
) -> Evaluation:
    """Judge ``app`` by ``rule_set`` in ``window`` on the date ``as_of``.

    The top level combines like ``all``: it fails when a rule fails, else needs information when
    a rule does, else passes. An empty rule set passes.
    """
    results = tuple(_judge(rule, app, window, as_of) for rule in rule_set.rules)
    return Evaluation(_combine_all([r.verdict for r in results]), results)
