"""The documents' own catalogue: every printed phrase in English, Russian and Kyrgyz (terms as in
web/locale/GLOSSARY.md). A service-side catalogue, because the service never reads the web's;
tests/service/documents/test_texts.py checks that every phrase has all three languages and the
same placeholders in each."""

from __future__ import annotations

from collections.abc import Callable

LANGS = ("en", "ru", "ky")

TEXTS: dict[str, tuple[str, str, str]] = {
    # --- the letterhead and every page ------------------------------------------------------
    "programme": (
        "Peacebuilding Coordination Councils · Small Grants Programme",
        "Координационные советы по миростроительству · Программа малых грантов",
        "Тынчтыкты бекемдөө боюнча координациялык кеңештер · Чакан гранттар программасы",
    ),
    "country": ("Kyrgyz Republic", "Кыргызская Республика", "Кыргыз Республикасы"),
    "page_of": (
        "Page {page} of {pages}",
        "Страница {page} из {pages}",
        "{pages} беттин {page}-бети",
    ),
    "issued": ("Issued on {date}", "Выдано {date}", "Берилген күнү: {date}"),
    "reference": ("Reference", "Номер", "Номери"),
    "date": ("Date", "Дата", "Күнү"),
    # --- award letter ------------------------------------------------------------------------
    "award_letter": ("Award letter", "Письмо о присуждении гранта", "Грант ыйгаруу тууралуу кат"),
    "to": ("To", "Кому", "Кимге"),
    "registration": ("Registration number", "Регистрационный номер", "Каттоо номери"),
    "territory": ("Territory", "Территория", "Аймак"),
    "subject": ("Subject", "Тема", "Темасы"),
    "award_subject": (
        "Award of a grant for “{title}”",
        "Присуждение гранта на проект «{title}»",
        "«{title}» долбооруна грант ыйгаруу",
    ),
    "dear": ("Dear colleagues,", "Уважаемые коллеги!", "Урматтуу кесиптештер!"),
    "award_body": (
        "We are pleased to inform you that, following the review of proposals submitted to"
        " “{window}” of the call “{call}”, your proposal {receipt} has been selected and a grant"
        " of {amount} ({words}) is awarded to {organisation}.",
        "Рады сообщить, что по итогам оценки заявок, поданных в окно «{window}» конкурса"
        " «{call}», ваша заявка {receipt} отобрана и организации {organisation} присуждён грант"
        " в размере {amount} ({words}).",
        "«{call}» конкурсунун «{window}» терезесине берилген өтүнмөлөрдү баалоонун жыйынтыгы"
        " боюнча сиздин {receipt} өтүнмөңүз тандалып, {organisation} уюмуна {amount} ({words})"
        " өлчөмүндө грант ыйгарылгандыгын кубануу менен билдиребиз.",
    ),
    "award_period": (
        "The grant covers the period from {start} to {end} and is paid in the tranches below,"
        " each released when its conditions are met.",
        "Грант предоставляется на период с {start} по {end} и выплачивается траншами, указанными"
        " ниже; каждый транш выплачивается после выполнения его условий.",
        "Грант {start} күнүнөн {end} күнүнө чейинки мөөнөткө берилет жана төмөндөгү транштар менен"
        " төлөнөт; ар бир транш анын шарттары аткарылгандан кийин төлөнөт.",
    ),
    "award_next": (
        "The grant agreement will be sent to you for signature. Please keep the reference above in"
        " all correspondence.",
        "Грантовое соглашение будет направлено вам на подпись. Просим указывать номер этого письма"
        " во всей переписке.",
        "Грант келишими сизге кол коюу үчүн жөнөтүлөт. Бардык кат алышууда ушул каттын номерин"
        " көрсөтүүнү суранабыз.",
    ),
    "reporting_obligations": ("Reporting obligations", "Отчётность", "Отчеттуулук"),
    "sincerely": ("Yours sincerely,", "С уважением,", "Урматтоо менен,"),
    # --- grant agreement ---------------------------------------------------------------------
    "grant_agreement": ("Grant agreement", "Грантовое соглашение", "Грант келишими"),
    "parties": ("Parties", "Стороны", "Тараптар"),
    "party_programme": (
        "The Small Grants Programme of the Peacebuilding Coordination Councils (“the Programme”)",
        "Программа малых грантов координационных советов по миростроительству («Программа»)",
        "Тынчтыкты бекемдөө боюнча координациялык кеңештердин Чакан гранттар программасы"
        " («Программа»)",
    ),
    "party_grantee": (
        "{organisation} (“the Grantee”)",
        "{organisation} («Грантополучатель»)",
        "{organisation} («Грант алуучу»)",
    ),
    "art_purpose": (
        "Article 1. Purpose",
        "Статья 1. Предмет соглашения",
        "1-берене. Келишимдин предмети",
    ),
    "purpose_body": (
        "The Programme awards the Grantee a grant to carry out the project “{title}” (proposal"
        " {receipt}, {window}), implementing the action-plan items listed below.",
        "Программа предоставляет Грантополучателю грант на реализацию проекта «{title}» (заявка"
        " {receipt}, {window}), выполняющего пункты плана действий, перечисленные ниже.",
        "Программа Грант алуучуга «{title}» долбоорун (өтүнмө {receipt}, {window}) ишке ашыруу"
        " үчүн грант берет; долбоор төмөндө саналган иш-аракеттер планынын пункттарын аткарат.",
    ),
    "art_amount": ("Article 2. Amount", "Статья 2. Сумма гранта", "2-берене. Гранттын суммасы"),
    "amount_body": (
        "The grant amounts to {amount} ({words}), charged to the funding sources below.",
        "Сумма гранта составляет {amount} ({words}) и относится на источники финансирования,"
        " указанные ниже.",
        "Гранттын суммасы {amount} ({words}) түзөт жана төмөндөгү каржылоо булактарына жүктөлөт.",
    ),
    "art_period": ("Article 3. Period", "Статья 3. Срок", "3-берене. Мөөнөтү"),
    "period_body": (
        "The project runs from {start} to {end} inclusive.",
        "Проект реализуется в период с {start} по {end} включительно.",
        "Долбоор {start} күнүнөн {end} күнүнө чейин (кошо алганда) ишке ашырылат.",
    ),
    "art_schedule": (
        "Article 4. Tranche schedule",
        "Статья 4. График траншей",
        "4-берене. Транштардын графиги",
    ),
    "art_reporting": (
        "Article 5. Reporting obligations",
        "Статья 5. Отчётность",
        "5-берене. Отчеттуулук",
    ),
    "reporting_1": (
        "The Grantee submits a progress report, with the indicators' values, before each tranche"
        " whose conditions require it.",
        "Грантополучатель представляет отчёт о ходе реализации со значениями индикаторов до каждого"
        " транша, условия которого этого требуют.",
        "Грант алуучу шарттары талап кылган ар бир транштын алдында индикаторлордун маанилери"
        " менен аткаруунун жүрүшү тууралуу отчет берет.",
    ),
    "reporting_2": (
        "A final progress report and a financial report with supporting documents are due within"
        " 30 days of the end date.",
        "Итоговый отчёт о ходе реализации и финансовый отчёт с подтверждающими документами"
        " представляются в течение 30 дней после даты окончания.",
        "Жыйынтыктоочу отчет жана тастыктоочу документтери менен каржылык отчет бүтүү"
        " күнүнөн тартып 30 күндүн ичинде берилет.",
    ),
    "reporting_3": (
        "Funds are used only for the approved budget; unspent funds are returned. The Programme"
        " and its auditors may inspect the project's records.",
        "Средства используются только в соответствии с утверждённым бюджетом; неиспользованные"
        " средства возвращаются. Программа и её аудиторы вправе проверять документы проекта.",
        "Каражат бекитилген бюджетке ылайык гана колдонулат; пайдаланылбаган каражат кайтарылат."
        " Программа жана анын аудиторлору долбоордун документтерин текшере алат.",
    ),
    "art_signatures": ("Article 6. Signatures", "Статья 6. Подписи", "6-берене. Колдор"),
    "for_programme": ("For the Programme", "От Программы", "Программанын атынан"),
    "for_grantee": ("For the Grantee", "От Грантополучателя", "Грант алуучунун атынан"),
    "name_title": ("Name and title", "Ф. И. О. и должность", "Аты-жөнү жана кызматы"),
    "signature": ("Signature", "Подпись", "Колу"),
    "signed_on": ("Signed on {date}", "Подписано {date}", "Кол коюлган күнү: {date}"),
    "not_signed": ("Not yet signed", "Ещё не подписано", "Азырынча кол коюлган эмес"),
    # --- tranches ----------------------------------------------------------------------------
    "tranche": ("Tranche", "Транш", "Транш"),
    "planned_date": ("Planned date", "Плановая дата", "Пландалган күнү"),
    "amount": ("Amount", "Сумма", "Суммасы"),
    "items": ("Action-plan items", "Пункты плана действий", "Иш-аракеттер планынын пункттары"),
    "conditions": ("Release conditions", "Условия выплаты", "Төлөө шарттары"),
    "status": ("Status", "Статус", "Абалы"),
    "total": ("Total", "Итого", "Жыйынтыгы"),
    "cond_agreement_signed": ("agreement signed", "соглашение подписано", "келишимге кол коюлду"),
    "cond_progress_report_accepted": (
        "progress report accepted",
        "отчёт о ходе реализации принят",
        "аткаруунун жүрүшү тууралуу отчет кабыл алынды",
    ),
    "cond_financial_report_accepted": (
        "financial report accepted",
        "финансовый отчёт принят",
        "каржылык отчет кабыл алынды",
    ),
    "cond_indicator_reported": (
        "indicator {code} reported",
        "представлено значение индикатора {code}",
        "{code} индикаторунун мааниси берилди",
    ),
    "no_conditions": ("none", "нет", "жок"),
    "funding_source": ("Funding source", "Источник финансирования", "Каржылоо булагы"),
    # --- statements --------------------------------------------------------------------------
    "grant_statement": ("Disbursement statement", "Выписка о выплатах", "Төлөмдөр боюнча көчүрмө"),
    "source_statement": (
        "Funding source statement",
        "Выписка по источнику финансирования",
        "Каржылоо булагы боюнча көчүрмө",
    ),
    "period": ("{start} – {end}", "{start} – {end}", "{start} – {end}"),
    "period_label": ("Period", "Период", "Мезгил"),
    "grant": ("Grant", "Грант", "Грант"),
    "grantee": ("Grantee", "Грантополучатель", "Грант алуучу"),
    "value_date": ("Value date", "Дата валютирования", "Төлөнгөн күнү"),
    "entry_kind": ("Entry", "Операция", "Операция"),
    "kind_disbursement": ("disbursement", "выплата", "төлөм"),
    "kind_reversal": ("reversal", "сторно", "сторно"),
    "payment_reference": ("Payment reference", "Номер платежа", "Төлөмдүн номери"),
    "committed": ("Committed", "Выделено", "Бөлүнгөн"),
    "disbursed": ("Disbursed", "Выплачено", "Төлөнгөн"),
    "remaining": ("Remaining", "Остаток", "Калган каражат"),
    "disbursed_before": (
        "Disbursed before the period",
        "Выплачено до периода",
        "Мезгилге чейин төлөнгөн",
    ),
    "disbursed_in": ("Disbursed in the period", "Выплачено за период", "Мезгил ичинде төлөнгөн"),
    "disbursed_to_end": (
        "Disbursed by the end",
        "Выплачено на конец периода",
        "Мезгилдин аягына карата төлөнгөн",
    ),
    "no_entries": (
        "No entry in the period.",
        "За период операций нет.",
        "Мезгил ичинде операция жок.",
    ),
    "summary": ("Committed and disbursed", "Выделено и выплачено", "Бөлүнгөн жана төлөнгөн"),
    # --- feedback ----------------------------------------------------------------------------
    "feedback_summary": (
        "Feedback on your proposal",
        "Отзыв по вашей заявке",
        "Сиздин өтүнмөңүз боюнча пикир",
    ),
    "proposal": ("Proposal", "Заявка", "Өтүнмө"),
    "receipt_number": ("Receipt number", "Номер подтверждения", "Тастыктаманын номери"),
    "window": ("Window", "Окно", "Терезе"),
    "call": ("Call for proposals", "Конкурс заявок", "Өтүнмөлөр конкурсу"),
    "organisation": ("Organisation", "Организация", "Уюм"),
    "decision": ("Decision", "Решение", "Чечим"),
    "criterion": ("Criterion", "Критерий", "Критерий"),
    "score": ("Score", "Оценка", "Баа"),
    "threshold": ("Threshold", "Порог", "Босого"),
    "passed": ("Passed", "Пройден", "Өттү"),
    "yes": ("yes", "да", "ооба"),
    "no": ("no", "нет", "жок"),
    "overall_score": ("Overall score", "Итоговая оценка", "Жалпы баа"),
    "rank_band": ("Place in the ranking", "Место в рейтинге", "Рейтингдеги орду"),
    "comments": ("The panel's comments", "Комментарии комиссии", "Комиссиянын комментарийлери"),
    "no_comments": ("No comment.", "Комментариев нет.", "Комментарий жок."),
    "band_top quarter": ("top quarter", "первая четверть", "биринчи чейрек"),
    "band_second quarter": ("second quarter", "вторая четверть", "экинчи чейрек"),
    "band_third quarter": ("third quarter", "третья четверть", "үчүнчү чейрек"),
    "band_bottom quarter": ("bottom quarter", "последняя четверть", "акыркы чейрек"),
    "outcome_selected": ("selected", "отобрана", "тандалды"),
    "outcome_reserve": ("reserve list", "резервный список", "резервдик тизме"),
    "outcome_not_selected": ("not selected", "не отобрана", "тандалган жок"),
    "outcome_awarded": ("awarded", "грант присуждён", "грант ыйгарылды"),
    # a decision's reason: from the selection run's codes, in the document's language
    "reason_funded": (
        "Selected in the window's selection run and funded with {amount}.",
        "Отобрана по итогам отбора окна; выделено {amount}.",
        "Терезенин тандоосунун жыйынтыгында тандалды; {amount} бөлүндү.",
    ),
    "reason_reserve": (
        "On the reserve list, place {place}: it may be funded if a selected proposal declines.",
        "В резервном списке, место {place}: грант возможен, если отобранная заявка откажется.",
        "Резервдик тизмеде, {place}-орун: тандалган өтүнмө баш тартса, грант берилиши мүмкүн.",
    ),
    "reason_not_funded": (
        "Not selected: in the selection run the window's budget, under its quotas, went to"
        " other proposals.",
        "Не отобрана: при отборе бюджет окна с учётом квот распределён между другими заявками.",
        "Тандалган жок: тандоодо терезенин бюджети квоталарды эске алуу менен башка"
        " өтүнмөлөргө бөлүштүрүлдү.",
    ),
    "reason_ineligible": (
        "Not considered for funding: the proposal did not pass the eligibility rules or a"
        " score threshold.",
        "Не рассматривалась для финансирования: заявка не прошла критерии соответствия или"
        " порог оценки.",
        "Каржылоого каралган жок: өтүнмө шайкештик критерийлеринен же баа босогосунан өткөн жок.",
    ),
    "reason_moved_up": (
        "Selected from the reserve list (place {place}) after a selected proposal declined.",
        "Отобрана из резервного списка (место {place}) после отказа отобранной заявки.",
        "Тандалган өтүнмө баш тарткандан кийин резервдик тизмеден ({place}-орун) тандалды.",
    ),
    "reason_declined": (
        "Declined by the applicant.",
        "Заявитель отказался от гранта.",
        "Өтүнмө ээси гранттан баш тартты.",
    ),
    "officer_words": (
        "The programme officer's words, as written:",
        "Слова сотрудника программы, на языке оригинала:",
        "Программа кызматкеринин сөздөрү, түп нускадагы тилде:",
    ),
    "points_of": ("{value} of {max}", "{value} из {max}", "{max} ичинен {value}"),
    # --- ranking report ----------------------------------------------------------------------
    "ranking_report": (
        "Window ranking report",
        "Отчёт о ранжировании окна",
        "Терезенин рейтинги боюнча отчет",
    ),
    "rubric": ("Rubric", "Схема оценки", "Баалоо критерийлери"),
    "weight": ("Weight", "Вес", "Салмагы"),
    "scale": ("Scale", "Шкала", "Шкаласы"),
    "alpha": ("Agreement (α)", "Согласованность (α)", "Макулдашуу (α)"),
    "ranking": ("Ranking", "Рейтинг", "Рейтинг"),
    "rank": ("Rank", "Место", "Орун"),
    "raw_score": ("Score", "Оценка", "Баа"),
    "calibrated_score": ("Calibrated", "Калиброванная", "Калибрленген"),
    "flags": ("Flags", "Отметки", "Белгилер"),
    "reviews": ("Reviews", "Заключения", "Баалоолор"),
    "flag_disagreement": ("reviewers disagree", "расхождение оценок", "баалар ажырашат"),
    "flag_below_threshold": ("below a threshold", "ниже порога", "босогодон төмөн"),
    "flag_lottery": ("lottery", "жеребьёвка", "чүчү кулак"),
    "agreement": (
        "Agreement between reviewers",
        "Согласованность экспертов",
        "Эксперттердин макулдашуусу",
    ),
    "overall_alpha": (
        "Krippendorff's α over every criterion: {alpha}; {reviews} submitted reviews.",
        "α Криппендорфа по всем критериям: {alpha}; представлено заключений: {reviews}.",
        "Бардык критерийлер боюнча Криппендорфтун α: {alpha}; берилген баалоолор: {reviews}.",
    ),
    "ranked_by": (
        "Ranked by the {score} score; aggregation: {aggregation}; tie-break: {tie_break}.",
        "Ранжировано по оценке ({score}); агрегирование: {aggregation};"
        " при равенстве: {tie_break}.",
        "Баа ({score}) боюнча иреттелди; бириктирүү: {aggregation}; тең болгондо: {tie_break}.",
    ),
    "score_raw": ("raw", "исходная", "баштапкы"),
    "score_calibrated": ("calibrated", "калиброванная", "калибрленген"),
    "distribution": ("Distribution of scores", "Распределение оценок", "Баалардын бөлүштүрүлүшү"),
    "selection": ("Selection", "Отбор", "Тандоо"),
    "policy": ("Selection policy", "Правило отбора", "Тандоо эрежеси"),
    "budget": ("Envelope", "Бюджет окна", "Терезенин бюджети"),
    "quotas": ("Quotas", "Квоты", "Квоталар"),
    "no_quotas": ("No quota.", "Квот нет.", "Квота жок."),
    "funded_list": ("Funded", "Финансируются", "Каржыланат"),
    "reserve_list": ("Reserve list", "Резервный список", "Резервдик тизме"),
    "no_run": (
        "No selection run has been computed for this window yet.",
        "Расчёт отбора для этого окна ещё не выполнен.",
        "Бул терезе үчүн тандоо эсептөөсү азырынча аткарыла элек.",
    ),
    "lottery": ("Lottery", "Жеребьёвка", "Чүчү кулак"),
    "seed_hash": (
        "Seed hash (SHA-256, published before the draw)",
        "Хеш начального значения (SHA-256, опубликован до жеребьёвки)",
        "Seed маанисинин хеши (SHA-256, чүчү кулактан мурун жарыяланган)",
    ),
    "seed": ("Seed", "Начальное значение", "Seed мааниси"),
    "run_status": ("Run status", "Статус расчёта", "Эсептөөнүн абалы"),
    "policy_optimal": (
        "Optimal: the highest total score within the budget and quotas",
        "Оптимальный: наибольшая суммарная оценка в пределах бюджета и квот",
        "Оптималдуу: бюджеттин жана квоталардын чегинде эң жогорку жалпы баа",
    ),
    "policy_strict_funding_line": (
        "Strict funding line (in rank order, stop at the first that does not fit)",
        "Строгая граница финансирования (по порядку рейтинга до первой заявки, которая не"
        " помещается в бюджет)",
        "Катуу каржылоо сызыгы (рейтинг тартибинде, бюджетке батпаган биринчи өтүнмөдө токтойт)",
    ),
    "policy_rank_with_skipping": (
        "Rank order, skipping those that do not fit",
        "По порядку рейтинга, пропуская заявки, которые не помещаются в бюджет",
        "Рейтинг тартибинде, батпагандарын өткөрүп жиберүү менен",
    ),
    "aggregation_mean": (
        "mean of the reviewers' scores",
        "среднее оценок экспертов",
        "эксперттердин бааларынын орточосу",
    ),
    "aggregation_median": (
        "median of the reviewers' scores",
        "медиана оценок экспертов",
        "эксперттердин бааларынын медианасы",
    ),
    "aggregation_trimmed_mean": (
        "mean without the highest and lowest score",
        "среднее без наибольшей и наименьшей оценки",
        "эң жогорку жана эң төмөнкү баасыз орточо",
    ),
    "run_pending": ("pending", "ожидает расчёта", "эсептеле элек"),
    "run_computed": (
        "computed, awaiting approval",
        "рассчитан, ожидает утверждения",
        "эсептелди, бекитүүнү күтүүдө",
    ),
    "run_approved": ("approved", "утверждён", "бекитилди"),
    "run_failed": ("failed", "не удался", "ишке ашкан жок"),
    "run_superseded": ("superseded", "заменён другим", "башкасы менен алмаштырылды"),
    "requested": ("Requested", "Запрошено", "Суралган"),
}


def translator(lang: str) -> Callable[..., str]:
    """`t("key", **values)` in `lang` (en, ru or ky)."""
    index = LANGS.index(lang)

    def t(key: str, **values: object) -> str:
        text = TEXTS[key][index]
        return text.format(**values) if values else text

    return t
