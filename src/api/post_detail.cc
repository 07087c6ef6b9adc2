#include "api/post_detail.h"

namespace ledger::api {

projections::PostDetail DetailAt(const commands::PostState& p, const TimeZone& zone,
                                 Timestamp now) {
  projections::PostDetail d;
  d.summary.id = p.id;
  d.summary.title = p.title;
  d.summary.uploader = p.uploader;
  d.summary.total_funded = p.total_funded;
  d.summary.achievement_rate = projections::AchievementRate(p.total_funded, p.target_amount);
  d.summary.d_day = projections::DaysUntil(p.end_date, zone.LocalDate(now));
  d.summary.status = projections::StatusOf(p.settlement);
  d.description = p.description;
  d.target_amount = p.target_amount;
  d.funding_unit = p.funding_unit;
  d.funding_model = p.funding_model;
  d.max_fundings_per_backer = p.max_fundings_per_backer;
  d.end_date = p.end_date;
  d.participant_count = p.participant_count();
  d.created_at = p.created_at;
  d.version = p.version;
  return d;
}

}  // namespace ledger::api
