package domain

import (
	"cmp"

	"github.com/lillvet/register/services/platform/changereason"
)

// names is one recorded value's name in Finnish, Swedish and English.
type names struct{ fi, sv, en string }

func (n names) in(lang Language) string {
	switch lang {
	case LanguageSwedish:
		return n.sv
	case LanguageEnglish:
		return n.en
	default:
		return n.fi
	}
}

// Fields whose recorded values the readable report names in words. The values are
// those of the report's JSON: the lower-case word of the services' enums, the audit
// log's actions, outcomes and roles, the refusal reasons, and the reasons the owner
// service writes itself on a change (ChangeReasonText).
const (
	ValueLanguage     = "language"
	ValueClinic       = "clinic"
	ValueSpecies      = "species"
	ValueSex          = "sex"
	ValueRoute        = "route"
	ValueInvoiceState = "invoice_state"
	ValueChannel      = "channel"
	ValueDirection    = "direction"
	ValuePurpose      = "purpose"
	ValueDecision     = "decision"
	// A consent's state now: why its purpose is allowed or not.
	ValueConsentReason = "consent_reason"
	ValueMethod        = "method"
	ValueOutcome       = "outcome"
	ValueRefusal       = "refusal"
	ValueService       = "service"
	ValueRole          = "role"
	ValueAction        = "action"
	ValueAccessOutcome = "access_outcome"
	ValueChangeReason  = "change_reason"
	// An access or erasure request's identification method, an access request's
	// status, an erasure request's state and the record classes its steps answered.
	ValueIdentification = "identification"
	ValueAccessStatus   = "access_status"
	ValueErasureState   = "erasure_state"
	ValueRecordClass    = "record_class"
)

// valueNames are the names of the recorded values, by field and value.
var valueNames = map[string]map[string]names{
	ValueLanguage: {
		"fi": {"suomi", "finska", "Finnish"},
		"sv": {"ruotsi", "svenska", "Swedish"},
		"en": {"englanti", "engelska", "English"},
	},
	ValueClinic: {
		"seinajoki": {"Seinäjoki", "Seinäjoki", "Seinäjoki"},
		"kangasala": {"Kangasala", "Kangasala", "Kangasala"},
	},
	ValueSpecies: {
		"dog":     {"koira", "hund", "dog"},
		"cat":     {"kissa", "katt", "cat"},
		"rabbit":  {"kani", "kanin", "rabbit"},
		"rodent":  {"jyrsijä", "gnagare", "rodent"},
		"bird":    {"lintu", "fågel", "bird"},
		"reptile": {"matelija", "reptil", "reptile"},
		"horse":   {"hevonen", "häst", "horse"},
		"ferret":  {"fretti", "iller", "ferret"},
		"other":   {"muu", "annan", "other"},
	},
	ValueSex: {
		"male":    {"uros", "hane", "male"},
		"female":  {"naaras", "hona", "female"},
		"unknown": {"ei tiedossa", "okänt", "unknown"},
	},
	ValueRoute: {
		"oral":          {"suun kautta", "genom munnen", "by mouth"},
		"subcutaneous":  {"ihon alle", "under huden", "under the skin"},
		"intramuscular": {"lihakseen", "i muskeln", "into a muscle"},
		"intravenous":   {"suoneen", "i venen", "into a vein"},
		"topical":       {"iholle", "på huden", "on the skin"},
		"ophthalmic":    {"silmään", "i ögat", "into the eye"},
		"otic":          {"korvaan", "i örat", "into the ear"},
		"inhaled":       {"hengitettynä", "inhalerat", "inhaled"},
		"rectal":        {"peräsuoleen", "i ändtarmen", "rectally"},
		"other":         {"muu", "annat", "other"},
	},
	ValueInvoiceState: {
		"open": {"avoin", "öppen", "open"},
		"paid": {"maksettu", "betald", "paid"},
	},
	// A communication's channel (history) and a direct-marketing consent's scope
	// (consent): email, sms, post or phone.
	ValueChannel: {
		"phone":     {"puhelin", "telefon", "phone"},
		"email":     {"sähköposti", "e-post", "e-mail"},
		"sms":       {"tekstiviesti", "sms", "text message"},
		"letter":    {"kirje", "brev", "letter"},
		"post":      {"posti", "post", "post"},
		"in_person": {"käynti", "besök", "in person"},
		"portal":    {"asiointipalvelu", "e-tjänst", "online service"},
	},
	ValueDirection: {
		"inbound":  {"sinulta klinikalle", "från dig till kliniken", "from you to the clinic"},
		"outbound": {"klinikalta sinulle", "från kliniken till dig", "from the clinic to you"},
	},
	ValuePurpose: {
		"direct_marketing":              {"suoramarkkinointi", "direktmarknadsföring", "direct marketing"},
		"statistical_research":          {"tilastointi ja tutkimus", "statistik och forskning", "statistics and research"},
		"service_development":           {"palvelujen kehittäminen", "utveckling av tjänsterna", "developing the services"},
		"care_reminders":                {"hoitomuistutukset", "vårdpåminnelser", "care reminders"},
		"insurer_disclosure":            {"tietojen luovutus vakuutusyhtiölle", "utlämnande till försäkringsbolag", "disclosure to insurers"},
		"kennel_club_disclosure":        {"tietojen luovutus Kennelliitolle", "utlämnande till Kennelklubben", "disclosure to the Finnish Kennel Club"},
		"cat_federation_disclosure":     {"tietojen luovutus Kissaliitolle", "utlämnande till Kattförbundet", "disclosure to the Finnish Cat Federation"},
		"microchip_registry_disclosure": {"tietojen luovutus mikrosirurekisteriin", "utlämnande till mikrochipsregister", "disclosure to microchip registries"},
	},
	ValueDecision: {
		"granted":   {"suostumus annettu", "samtycke givet", "consent given"},
		"refused":   {"suostumuksesta kieltäydytty", "samtycke nekat", "consent refused"},
		"withdrawn": {"suostumus peruttu", "samtycke återkallat", "consent withdrawn"},
		"objected":  {"vastustettu", "invändning", "objected"},
	},
	// The consent service's reasons for a consent's state (ConsentState.reason), said
	// to the owner: the state's allowed column says yes or no, this says why.
	ValueConsentReason: {
		"default_opt_out": {"et ole kieltänyt", "du har inte förbjudit det", "you have not objected"},
		"explicit_grant":  {"olet antanut suostumuksesi", "du har gett ditt samtycke", "you have given your consent"},
		"objection":       {"olet kieltänyt", "du har förbjudit det", "you have objected"},
		"withdrawal":      {"olet perunut suostumuksesi", "du har återkallat ditt samtycke", "you have withdrawn your consent"},
		"refusal":         {"olet kieltäytynyt antamasta suostumusta", "du har vägrat ge ditt samtycke", "you have refused your consent"},
		// Said so also of a grant not yet in effect (scheduled ahead) and of a microchip
		// registry grant stored without naming the registry: the owner may have given
		// one, which the consent history shows, but none is in force.
		"no_grant":         {"voimassa olevaa suostumusta ei ole", "inget gällande samtycke", "no consent in force"},
		"expired":          {"suostumuksesi voimassaolo on päättynyt", "ditt samtycke har gått ut", "your consent has expired"},
		"not_yet_valid":    {"suostumuksesi ei ole vielä voimassa", "ditt samtycke gäller ännu inte", "your consent is not yet in effect"},
		"owner_restricted": {"tietojesi käsittely on rajoitettu", "behandlingen av dina uppgifter är begränsad", "the processing of your data is restricted"},
	},
	ValueMethod: {
		"in_person":   {"käynnillä", "vid besök", "in person"},
		"written":     {"kirjallisesti", "skriftligt", "in writing"},
		"email":       {"sähköpostilla", "per e-post", "by e-mail"},
		"phone":       {"puhelimessa", "per telefon", "by phone"},
		"online_form": {"verkkolomakkeella", "med webbformulär", "online form"},
	},
	ValueOutcome: {
		"disclosed": {"luovutettu", "utlämnat", "disclosed"},
		"refused":   {"ei luovutettu", "inte utlämnat", "refused"},
	},
	ValueRefusal: {
		string(RefusalRecipientInactive):  {"vastaanottaja ei ole enää käytössä", "mottagaren är inte längre i bruk", "the recipient is no longer in use"},
		string(RefusalOutsideEEA):         {"vastaanottaja on EU:n ja ETA:n ulkopuolella", "mottagaren är utanför EU och EES", "the recipient is outside the EU and EEA"},
		string(RefusalCategoryNotAllowed): {"tietoja ei saa luovuttaa tälle vastaanottajalle", "uppgifterna får inte lämnas ut till mottagaren", "the data may not be disclosed to this recipient"},
		string(RefusalOwnerRestricted):    {"olit rajoittanut tietojesi käsittelyä", "du hade begränsat behandlingen av dina uppgifter", "you had restricted the processing of your data"},
		string(RefusalNoLegalBasis):       {"luovutukselle ei ollut suostumustasi eikä muuta perustetta", "det fanns varken ditt samtycke eller annan grund", "there was neither your consent nor another basis"},
		string(RefusalNotCompleted):       {"luovutus jäi kesken, eikä tietoja luovutettu", "utlämnandet slutfördes inte och inga uppgifter lämnades ut", "the disclosure was not completed and nothing was disclosed"},
	},
	ValueService: {
		"owner":      {"asiakas- ja lemmikkitiedot", "kund- och djuruppgifter", "customer and pet records"},
		"history":    {"hoitohistoria ja yhteydenotot", "vårdhistorik och kontakter", "treatment history and communications"},
		"consent":    {"suostumukset ja kiellot", "samtycken och förbud", "consents and objections"},
		"disclosure": {"tietojen luovutukset", "utlämnanden", "disclosures"},
	},
	ValueRole: {
		"veterinarian":   {"eläinlääkäri", "veterinär", "veterinarian"},
		"nurse":          {"eläinhoitaja", "djurskötare", "veterinary nurse"},
		"reception":      {"asiakaspalvelu", "kundtjänst", "reception"},
		"billing":        {"laskutus", "fakturering", "billing"},
		"clinic_manager": {"klinikan johtaja", "klinikchef", "clinic manager"},
		"maintainer":     {"järjestelmän ylläpitäjä", "systemförvaltare", "system maintainer"},
		"subcontractor":  {"alihankkija", "underleverantör", "subcontractor"},
		"partner":        {"yhteistyökumppani", "samarbetspartner", "partner"},
		"erasure_job":    {"tietojen poiston automaattinen ajo", "automatisk radering", "automatic erasure run"},
		"name_retention_job": {
			"nimien säilytysajan automaattinen jatkaminen", "automatisk förlängning av namnens lagringstid", "automatic extension of the names' retention",
		},
	},
	// The reasons the owner service writes itself (changereason), as its change history
	// stores them and hands them to the owner's copy. A transfer taken back reads the
	// same under either of its reasons: the longer one tells the other owner's
	// restriction, which an owner's copy never holds.
	ValueChangeReason: {
		changereason.Registered:        {"rekisteröity", "registrerad", "registered"},
		changereason.RetentionEnded:    {"säilytysaika päättyi", "lagringstiden gick ut", "retention period ended"},
		changereason.RetentionExtended: {"säilytysaikaa jatkettu", "lagringstiden förlängd", "retention period extended"},
		changereason.TakenBack:         {"omistajan vaihdos peruttu", "ägarbytet återkallat", "transfer taken back"},
		changereason.Untransfer:        {"omistajan vaihdos peruttu", "ägarbytet återkallat", "transfer taken back"},
		changereason.Withheld:          {"(ei näytetä)", "(visas inte)", "(withheld)"},
		changereason.Erased:            {"(poistettu)", "(raderad)", "(erased)"},
		changereason.LateErasure: {
			"omistajan tietojen poisto: eläin siirtyi omistajalle poiston jälkeen",
			"omfattas av ägarens radering: djuret kom till ägaren efter raderingen",
			"covered by the owner's erasure: the patient came under the owner after it ran",
		},
		erasureRequestKey: {"tietojen poistopyyntö", "begäran om radering", "erasure request"},
	},
	ValueIdentification: {
		"identity_document":  {"henkilöllisyystodistus", "identitetshandling", "identity document"},
		"strong_electronic":  {"vahva sähköinen tunnistus", "stark elektronisk identifiering", "strong electronic identification"},
		"registered_contact": {"rekisteriin merkityt yhteystiedot", "registrerade kontaktuppgifter", "contact details on record"},
	},
	ValueAccessStatus: {
		"received": {"vastaanotettu", "mottagen", "received"},
		"answered": {"vastattu", "besvarad", "answered"},
	},
	ValueErasureState: {
		"running": {"käynnissä", "pågår", "in progress"},
		"done":    {"valmis", "slutförd", "completed"},
		"stuck":   {"keskeytynyt, odottaa käsittelyä", "avbruten, väntar på handläggning", "halted, awaiting staff"},
	},
	// The classes the services' erasures answer for (RecordDisposition.record_class).
	ValueRecordClass: {
		"contact_details":       {"puhelin, sähköposti ja asiointikieli", "telefon, e-post och språk", "phone, e-mail and language"},
		"owner_name_address":    {"nimi ja osoite", "namn och postadress", "name and address"},
		"patients":              {"lemmikkien tiedot", "husdjurens uppgifter", "pets' details"},
		"identity_code":         {"henkilötunnus", "personbeteckning", "personal identity code"},
		"patient_records":       {"potilaskertomukset", "patientjournaler", "patient records"},
		"medicine_records":      {"lääkitystiedot", "läkemedelsuppgifter", "medicine records"},
		"invoices":              {"laskut", "fakturor", "invoices"},
		"communications":        {"yhteydenotot", "kontakter", "communications"},
		"consent_ledger":        {"suostumukset ja kiellot", "samtycken och förbud", "consents and prohibitions"},
		"marketing_suppression": {"suoramarkkinointikielto", "förbud mot direktmarknadsföring", "objection to direct marketing"},
		"change_history":        {"muutoshistoria", "ändringshistorik", "change history"},
		"disclosure_packages":   {"luovutettujen tietojen kopiot", "kopior av utlämnade uppgifter", "copies of the data disclosed"},
	},
	ValueAccessOutcome: {
		"success": {"onnistui", "lyckades", "done"},
		"denied":  {"estetty", "nekad", "denied"},
		"failed":  {"epäonnistui", "misslyckades", "failed"},
	},
	// A restriction's lift was recorded as ….restriction.set too until it had an action
	// of its own (….restriction.lift): those events keep the set's name, as stored. An
	// action says what was done, not why: the history service compiles a history for the
	// owner's access report and for a disclosure package alike (history.export), and the
	// event's purpose, shown beside it, tells which.
	ValueAction: {
		"owner.create":                             {"asiakkaan lisäys", "kunden registrerad", "customer registered"},
		"owner.read":                               {"asiakastietojen katselu", "kunduppgifterna visade", "customer details viewed"},
		"owner.update":                             {"asiakastietojen muutos", "kunduppgifterna ändrade", "customer details changed"},
		"owner.changes.read":                       {"asiakastietojen muutoshistorian katselu", "ändringshistoriken visad", "change history viewed"},
		"owner.find_by_identity_code":              {"haku henkilötunnuksella", "sökning med personbeteckning", "search by identity code"},
		"owner.reveal_identity_code":               {"henkilötunnuksen näyttäminen", "personbeteckningen visad", "identity code shown"},
		"owner.status.batch_read":                  {"asiakkaan tilan tarkistus", "kundens status kontrollerad", "customer status checked"},
		"owner.restriction.set":                    {"käsittelyn rajoitus", "begränsning av behandlingen", "processing restricted"},
		"owner.restriction.lift":                   {"käsittelyn rajoituksen poisto", "begränsningen av behandlingen hävd", "processing restriction lifted"},
		"owner.export":                             {"tiedot koottu tarkastusta varten", "uppgifterna sammanställda för tillgång", "data compiled for access"},
		"owner.erase":                              {"tietojen poisto", "uppgifterna raderade", "data erased"},
		"owner.retention_sweep":                    {"säilytysajan päättyneiden tietojen poisto", "radering efter lagringstiden", "removal after the retention period"},
		"owner.retention_extend":                   {"säilytysajan jatkaminen", "lagringstiden förlängd", "retention period extended"},
		"owner.identity_code_retention_end":        {"henkilötunnuksen säilytyksen päättyminen", "lagringen av personbeteckningen avslutad", "identity code's retention ended"},
		"patient.create":                           {"lemmikin lisäys", "djuret registrerat", "pet registered"},
		"patient.create.taken_back":                {"lemmikin lisäyksen peruminen", "registreringen av djuret återtagen", "pet registration taken back"},
		"patient.read":                             {"lemmikin tietojen katselu", "djurets uppgifter visade", "pet details viewed"},
		"patient.list":                             {"lemmikkien luettelon katselu", "förteckningen över djur visad", "list of pets viewed"},
		"patient.update":                           {"lemmikin tietojen muutos", "djurets uppgifter ändrade", "pet details changed"},
		"patient.changes.read":                     {"lemmikin muutoshistorian katselu", "djurets ändringshistorik visad", "pet change history viewed"},
		"patient.find_by_customer_number":          {"haku asiakasnumerolla", "sökning med kundnummer", "search by customer number"},
		"owner.search":                             {"asiakashaku", "kundsökning", "customer search"},
		"patient.transfer":                         {"lemmikin siirto toiselle omistajalle", "djuret överfört till en annan ägare", "pet transferred to another owner"},
		"patient.transfer.taken_back":              {"lemmikin siirron peruminen", "överföringen av djuret återtagen", "pet transfer taken back"},
		"patient.mark_deceased":                    {"lemmikki merkitty kuolleeksi", "djuret markerat som avlidet", "pet marked deceased"},
		"visit.create":                             {"käyntimerkinnän kirjaus", "besöksanteckning registrerad", "visit recorded"},
		"visit.read":                               {"käyntimerkinnän katselu", "besöksanteckning visad", "visit viewed"},
		"visit.list":                               {"käyntien luettelon katselu", "besöksförteckningen visad", "list of visits viewed"},
		"visit.amend":                              {"käyntimerkinnän korjaus", "besöksanteckning rättad", "visit corrected"},
		"communication.create":                     {"yhteydenoton kirjaus", "kontakt registrerad", "communication recorded"},
		"communication.list":                       {"yhteydenottojen katselu", "kontakterna visade", "communications viewed"},
		"timeline.read":                            {"hoitohistorian katselu", "vårdhistoriken visad", "treatment history viewed"},
		"history.export":                           {"hoitohistoria koottu", "vårdhistoriken sammanställd", "treatment history compiled"},
		"history.erase":                            {"hoitohistorian poisto", "vårdhistoriken raderad", "treatment history erased"},
		"history.retention_sweep":                  {"säilytysajan päättyneiden tietojen poisto", "radering efter lagringstiden", "removal after the retention period"},
		"consent.check":                            {"suostumuksen tarkistus", "samtycket kontrollerat", "consent checked"},
		"consent.filter":                           {"suostumusten tarkistus kohderyhmälle", "samtycken kontrollerade för en målgrupp", "consents checked for a target group"},
		"consent.state.read":                       {"suostumusten katselu", "samtyckena visade", "consents viewed"},
		"consent.decision.record":                  {"päätöksen kirjaus", "beslutet registrerat", "decision recorded"},
		"consent.decision.list":                    {"päätöshistorian katselu", "beslutshistoriken visad", "decision history viewed"},
		"consent.restriction.set":                  {"käsittelyn rajoitus", "begränsning av behandlingen", "processing restricted"},
		"consent.restriction.lift":                 {"käsittelyn rajoituksen poisto", "begränsningen av behandlingen hävd", "processing restriction lifted"},
		"consent.erase":                            {"suostumustietojen poisto", "samtyckesuppgifterna raderade", "consent records erased"},
		"disclosure.create":                        {"tietojen luovutus", "utlämnande", "data disclosed"},
		"disclosure.read":                          {"luovutuksen katselu", "utlämnandet visat", "disclosure viewed"},
		"disclosure.list":                          {"luovutusten katselu", "utlämnandena visade", "disclosures viewed"},
		"disclosure.partner.read":                  {"vastaanottaja haki luovutuksen", "mottagaren hämtade utlämnandet", "recipient fetched the disclosure"},
		"disclosure.list_rectification_recipients": {"oikaisusta ilmoitettavien vastaanottajien haku", "mottagare att underrätta om rättelse", "recipients to notify of a correction"},
		"disclosure.partner.list":                  {"vastaanottaja haki luovutusten luettelon", "mottagaren hämtade förteckningen över utlämnanden", "recipient listed the disclosures"},
		"disclosure.retention_sweep":               {"säilytysajan päättyneiden tietojen poisto", "radering efter lagringstiden", "removal after the retention period"},
		"recipient.create":                         {"vastaanottajan lisäys", "mottagaren registrerad", "recipient registered"},
		"recipient.read":                           {"vastaanottajan tietojen katselu", "mottagarens uppgifter visade", "recipient viewed"},
		"recipient.list":                           {"vastaanottajien luettelon katselu", "förteckningen över mottagare visad", "list of recipients viewed"},
		"recipient.deactivate":                     {"vastaanottajan poisto käytöstä", "mottagaren tagen ur bruk", "recipient taken out of use"},
		"access_request.record":                    {"tarkastuspyynnön kirjaus", "begäran om tillgång registrerad", "access request recorded"},
		"access_request.read":                      {"tarkastuspyynnön katselu", "begäran om tillgång visad", "access request viewed"},
		"access_request.list":                      {"tarkastuspyyntöjen katselu", "begäranden om tillgång visade", "access requests viewed"},
		"access_request.report":                    {"tarkastusraportin antaminen", "rapporten om tillgång lämnad", "access report given"},
		"access_request.extend":                    {"tarkastuspyynnön määräajan pidennys", "tidsfristen förlängd", "deadline extended"},
		"erasure_request.create":                   {"poistopyynnön kirjaus", "begäran om radering registrerad", "erasure request recorded"},
		"erasure_request.read":                     {"poistopyynnön katselu", "begäran om radering visad", "erasure request viewed"},
		"erasure_request.list":                     {"poistopyyntöjen katselu", "begäranden om radering visade", "erasure requests viewed"},
		"erasure_request.step":                     {"tietojen poiston vaihe", "ett steg i raderingen", "a step of the erasure"},
		"erasure_request.resume":                   {"keskeytyneen tietojen poiston jatkaminen", "avbruten radering återupptagen", "halted erasure resumed"},
		"erasure_request.finish":                   {"tietojen poisto valmis", "raderingen slutförd", "erasure completed"},
		"audit.export":                             {"käsittelylokin kokoaminen", "loggen sammanställd", "access log compiled"},
		"rpc.denied":                               {"pääsy estetty", "åtkomst nekad", "access refused"},
	},
}

// ValueTextKey is the key of a recorded value's name among DocumentTexts.
func ValueTextKey(field, value string) string { return "value." + field + "." + value }

// valueTexts returns the names of the recorded values in lang, keyed by ValueTextKey.
func valueTexts(lang Language) map[string]string {
	out := map[string]string{}
	for field, values := range valueNames {
		for value, n := range values {
			out[ValueTextKey(field, value)] = n.in(lang)
		}
	}
	return out
}

// ActionText is an audit event's action in words of texts (DocumentTexts). An action
// newer than the texts is "other action", never its code: the report is for the owner,
// and the JSON copy carries the code.
func ActionText(texts map[string]string, action string) string {
	return cmp.Or(texts[ValueTextKey(ValueAction, action)], texts["action.other"])
}
